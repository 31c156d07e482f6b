package dev.ferrum.sys.nvme;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Pins the jextract layouts of the NVMe structures to the NVMe Base Specification: every expected size and offset
 * below is a literal taken from the specification's figures (Submission Queue Entry, Completion Queue Entry,
 * Identify Controller and Identify Namespace data structures), not from the generated code. A change of
 * {@code include/nvme.h} (or of how jextract lays it out) that moves a field fails here instead of in a driver
 * reading the wrong bytes from a device.
 */
class NvmeLayoutTest {

    @Test
    void submissionQueueEntryIs64Bytes() {
        assertEquals(64, nvme_sqe.layout().byteSize());
        assertEquals(0, nvme_sqe.opc$offset(), "CDW0 OPC");
        assertEquals(1, nvme_sqe.flags$offset(), "CDW0 FUSE/PSDT");
        assertEquals(2, nvme_sqe.cid$offset(), "CDW0 CID");
        assertEquals(4, nvme_sqe.nsid$offset(), "NSID");
        assertEquals(16, nvme_sqe.mptr$offset(), "MPTR");
        assertEquals(24, nvme_sqe.prp1$offset(), "DPTR PRP entry 1");
        assertEquals(32, nvme_sqe.prp2$offset(), "DPTR PRP entry 2");
        assertEquals(40, nvme_sqe.cdw10$offset(), "CDW10");
        assertEquals(60, nvme_sqe.cdw15$offset(), "CDW15");
    }

    @Test
    void completionQueueEntryIs16Bytes() {
        assertEquals(16, nvme_cqe.layout().byteSize());
        assertEquals(0, nvme_cqe.dw0$offset(), "DW0");
        assertEquals(8, nvme_cqe.sq_head$offset(), "DW2 SQHD");
        assertEquals(10, nvme_cqe.sq_id$offset(), "DW2 SQID");
        assertEquals(12, nvme_cqe.cid$offset(), "DW3 CID");
        assertEquals(14, nvme_cqe.status$offset(), "DW3 phase tag and status");
    }

    @Test
    void identifyControllerIs4096BytesWithFieldsAtTheirSpecOffsets() {
        assertEquals(4096, nvme_id_ctrl.layout().byteSize());
        assertEquals(0, nvme_id_ctrl.vid$offset(), "VID, bytes 1:0");
        assertEquals(4, nvme_id_ctrl.sn$offset(), "SN, bytes 23:4");
        assertEquals(24, nvme_id_ctrl.mn$offset(), "MN, bytes 63:24");
        assertEquals(64, nvme_id_ctrl.fr$offset(), "FR, bytes 71:64");
        assertEquals(77, nvme_id_ctrl.mdts$offset(), "MDTS, byte 77");
        assertEquals(78, nvme_id_ctrl.cntlid$offset(), "CNTLID, bytes 79:78");
        assertEquals(80, nvme_id_ctrl.ver$offset(), "VER, bytes 83:80");
        assertEquals(256, nvme_id_ctrl.oacs$offset(), "OACS, bytes 257:256");
        assertEquals(512, nvme_id_ctrl.sqes$offset(), "SQES, byte 512");
        assertEquals(513, nvme_id_ctrl.cqes$offset(), "CQES, byte 513");
        assertEquals(516, nvme_id_ctrl.nn$offset(), "NN, bytes 519:516");
        assertEquals(520, nvme_id_ctrl.oncs$offset(), "ONCS, bytes 521:520");
        assertEquals(525, nvme_id_ctrl.vwc$offset(), "VWC, byte 525");
        assertEquals(768, nvme_id_ctrl.subnqn$offset(), "SUBNQN, bytes 1023:768");
        assertEquals(2048, nvme_id_ctrl.psd$offset(), "PSD0, bytes 2079:2048");
        assertEquals(32, nvme_power_state.layout().byteSize(), "a power state descriptor");
        assertEquals(3072, nvme_id_ctrl.vs$offset(), "vendor specific, bytes 4095:3072");
    }

    @Test
    void identifyNamespaceIs4096BytesWithFieldsAtTheirSpecOffsets() {
        assertEquals(4096, nvme_id_ns.layout().byteSize());
        assertEquals(0, nvme_id_ns.nsze$offset(), "NSZE, bytes 7:0");
        assertEquals(8, nvme_id_ns.ncap$offset(), "NCAP, bytes 15:8");
        assertEquals(16, nvme_id_ns.nuse$offset(), "NUSE, bytes 23:16");
        assertEquals(25, nvme_id_ns.nlbaf$offset(), "NLBAF, byte 25");
        assertEquals(26, nvme_id_ns.flbas$offset(), "FLBAS, byte 26");
        assertEquals(48, nvme_id_ns.nvmcap$offset(), "NVMCAP, bytes 63:48");
        assertEquals(128, nvme_id_ns.lbaf$offset(), "LBAF0, bytes 131:128");
        assertEquals(384, nvme_id_ns.vs$offset(), "vendor specific, bytes 4095:384");
        assertEquals(4, nvme_lbaf.layout().byteSize(), "an LBA format descriptor");
        assertEquals(0, nvme_lbaf.ms$offset(), "LBAF MS, bits 15:0");
        assertEquals(2, nvme_lbaf.ds$offset(), "LBAF LBADS, bits 23:16");
        assertEquals(3, nvme_lbaf.rp$offset(), "LBAF RP, bits 25:24");
    }
}
