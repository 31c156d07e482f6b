package dev.ferrum.nvme;

import dev.ferrum.sys.nvme.nvme_id_ns;
import dev.ferrum.sys.nvme.nvme_lbaf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Identify Namespace data (figure 249), decoded and validated (the device is untrusted).
 *
 * @param nsid          namespace ID
 * @param size          NSZE: size in logical blocks
 * @param capacity      NCAP: blocks that may be allocated
 * @param utilization   NUSE: blocks allocated
 * @param blockSize     logical block size in bytes, of the formatted LBA format
 * @param formatIndex   the formatted LBA format (FLBAS [3:0])
 * @param formats       every supported LBA format (NLBAF + 1 of them)
 * @param deallocatedReadsZero whether deallocated blocks read as zeroes (DLFEAT [2:0] = 1)
 * @param nguid         NGUID as hex (all zeroes if not reported)
 * @param eui64         EUI64 as hex
 */
public record NamespaceInfo(int nsid, long size, long capacity, long utilization, int blockSize, int formatIndex,
                            List<LbaFormat> formats, boolean deallocatedReadsZero, String nguid, String eui64) {

    /** One LBA format: data size in bytes, metadata bytes per block, relative performance (0 best). */
    public record LbaFormat(int dataSize, int metadataSize, int relativePerformance) {}

    /** {@return the namespace size in bytes} */
    public long sizeBytes() {
        return size * blockSize;
    }

    /**
     * Decodes a 4096-byte Identify Namespace structure.
     *
     * @throws IllegalArgumentException naming the field if the namespace is inactive (size 0), reports an
     *                                  inconsistent format, a block size outside 512 B..64 KiB, or metadata (not
     *                                  supported by this driver)
     */
    public static NamespaceInfo parse(int nsid, MemorySegment data) {
        if (data.byteSize() < nvme_id_ns.sizeof()) {
            throw new IllegalArgumentException("Identify Namespace data is " + data.byteSize() + " bytes");
        }
        long nsze = data.get(ValueLayout.JAVA_LONG_UNALIGNED, nvme_id_ns.nsze$offset());
        long ncap = data.get(ValueLayout.JAVA_LONG_UNALIGNED, nvme_id_ns.ncap$offset());
        long nuse = data.get(ValueLayout.JAVA_LONG_UNALIGNED, nvme_id_ns.nuse$offset());
        if (nsze <= 0) {
            throw new IllegalArgumentException("namespace " + nsid + " is inactive or invalid (NSZE " + nsze + ")");
        }
        if (Long.compareUnsigned(ncap, nsze) > 0 || Long.compareUnsigned(nuse, ncap) > 0) {
            throw new IllegalArgumentException("namespace " + nsid + ": inconsistent NSZE " + nsze + ", NCAP "
                    + Long.toUnsignedString(ncap) + ", NUSE " + Long.toUnsignedString(nuse));
        }
        int nlbaf = ControllerInfo.u8(data, nvme_id_ns.nlbaf$offset());
        if (nlbaf > 15) {
            throw new IllegalArgumentException("namespace " + nsid + ": NLBAF " + nlbaf + " exceeds 15");
        }
        int flbas = ControllerInfo.u8(data, nvme_id_ns.flbas$offset()) & 0xf;
        if (flbas > nlbaf) {
            throw new IllegalArgumentException("namespace " + nsid + ": formatted LBA format " + flbas
                    + " is beyond the " + (nlbaf + 1) + " formats reported");
        }
        List<LbaFormat> formats = new ArrayList<>();
        for (int i = 0; i <= nlbaf; i++) {
            long base = nvme_id_ns.lbaf$offset() + i * nvme_lbaf.sizeof();
            int ms = ControllerInfo.u16(data, base + nvme_lbaf.ms$offset());
            int ds = ControllerInfo.u8(data, base + nvme_lbaf.ds$offset());
            int rp = ControllerInfo.u8(data, base + nvme_lbaf.rp$offset()) & 3;
            formats.add(new LbaFormat(ds >= 9 && ds <= 16 ? 1 << ds : 0, ms, rp));
        }
        LbaFormat current = formats.get(flbas);
        if (current.dataSize() == 0) {
            throw new IllegalArgumentException("namespace " + nsid + ": LBA data size of format " + flbas
                    + " is outside 512 B..64 KiB");
        }
        if (current.metadataSize() != 0) {
            throw new IllegalArgumentException("namespace " + nsid + " is formatted with " + current.metadataSize()
                    + " bytes of metadata per block, which this driver does not support");
        }
        if (nsze > Long.MAX_VALUE / current.dataSize()) {
            throw new IllegalArgumentException("namespace " + nsid + ": NSZE " + nsze + " blocks is implausible");
        }
        HexFormat hex = HexFormat.of();
        return new NamespaceInfo(nsid, nsze, ncap, nuse, current.dataSize(), flbas, List.copyOf(formats),
                (ControllerInfo.u8(data, nvme_id_ns.dlfeat$offset()) & 7) == 1,
                hex.formatHex(data.asSlice(nvme_id_ns.nguid$offset(), 16).toArray(ValueLayout.JAVA_BYTE)),
                hex.formatHex(data.asSlice(nvme_id_ns.eui64$offset(), 8).toArray(ValueLayout.JAVA_BYTE)));
    }
}
