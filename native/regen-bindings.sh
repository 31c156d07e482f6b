#!/usr/bin/env bash
# Regenerates the committed jextract bindings under native/src/main/java from native/include/*.h.
#
# jextract version used for the committed output: OpenJDK jextract built from openjdk/jextract master at
# f9866df3a178baa2e4a3746a7a6e458d783ace92 (jextract 23 line, run on JDK 25, with Debian's libclang 14.0.6),
# as provided by ../shared/tools/jextract. (`jextract --version` does not work in that build.)
#
# Building and testing never need this script: the output is committed. Run it from anywhere:
#     native/regen-bindings.sh [path/to/jextract]
# then review `git diff native/src/main/java` and commit the result together with the header change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
jextract=${1:-${JEXTRACT:-$here/../../shared/tools/jextract}}
[ -x "$jextract" ] || { echo "regen-bindings: jextract not found at $jextract (pass its path)" >&2; exit 1; }
out=$here/src/main/java

rm -rf "$out/dev/ferrum/sys/linux" "$out/dev/ferrum/sys/nvme"

# libc + linux/vfio.h: only what Ferrum calls or reads.
args=()
for f in open close ioctl mmap munmap mlock munlock madvise pread pwrite read write eventfd poll sysconf \
         getpid getrlimit strerrorname_np strerrordesc_np; do
  args+=(--include-function "$f")
done
for s in pollfd rlimit vfio_info_cap_header vfio_group_status vfio_device_info vfio_region_info \
         vfio_region_info_cap_sparse_mmap vfio_region_sparse_mmap_area vfio_irq_info vfio_irq_set \
         vfio_iommu_type1_info vfio_iommu_type1_dma_map vfio_iommu_type1_dma_unmap \
         vfio_iommu_type1_info_cap_iova_range vfio_iova_range; do
  args+=(--include-struct "$s")
done
for c in O_RDONLY O_WRONLY O_RDWR O_CLOEXEC O_NONBLOCK \
         PROT_NONE PROT_READ PROT_WRITE MAP_SHARED MAP_PRIVATE MAP_ANONYMOUS MAP_FIXED MAP_HUGETLB MAP_POPULATE \
         MAP_LOCKED MAP_NORESERVE MADV_DONTFORK MADV_HUGEPAGE \
         POLLIN POLLERR POLLHUP POLLNVAL EFD_CLOEXEC EFD_NONBLOCK _SC_PAGESIZE RLIMIT_MEMLOCK \
         VFIO_API_VERSION VFIO_TYPE1_IOMMU VFIO_TYPE1v2_IOMMU VFIO_NOIOMMU_IOMMU VFIO_TYPE VFIO_BASE \
         VFIO_GROUP_FLAGS_VIABLE VFIO_GROUP_FLAGS_CONTAINER_SET \
         VFIO_DEVICE_FLAGS_RESET VFIO_DEVICE_FLAGS_PCI VFIO_DEVICE_FLAGS_CAPS \
         VFIO_REGION_INFO_FLAG_READ VFIO_REGION_INFO_FLAG_WRITE VFIO_REGION_INFO_FLAG_MMAP \
         VFIO_REGION_INFO_FLAG_CAPS VFIO_REGION_INFO_CAP_SPARSE_MMAP \
         VFIO_IRQ_INFO_EVENTFD VFIO_IRQ_INFO_MASKABLE VFIO_IRQ_INFO_AUTOMASKED VFIO_IRQ_INFO_NORESIZE \
         VFIO_IRQ_SET_DATA_NONE VFIO_IRQ_SET_DATA_BOOL VFIO_IRQ_SET_DATA_EVENTFD \
         VFIO_IRQ_SET_ACTION_MASK VFIO_IRQ_SET_ACTION_UNMASK VFIO_IRQ_SET_ACTION_TRIGGER \
         VFIO_DMA_MAP_FLAG_READ VFIO_DMA_MAP_FLAG_WRITE \
         VFIO_IOMMU_INFO_PGSIZES VFIO_IOMMU_INFO_CAPS VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE \
         VFIO_PCI_BAR0_REGION_INDEX VFIO_PCI_BAR1_REGION_INDEX VFIO_PCI_BAR2_REGION_INDEX \
         VFIO_PCI_BAR3_REGION_INDEX VFIO_PCI_BAR4_REGION_INDEX VFIO_PCI_BAR5_REGION_INDEX \
         VFIO_PCI_ROM_REGION_INDEX VFIO_PCI_CONFIG_REGION_INDEX VFIO_PCI_VGA_REGION_INDEX \
         VFIO_PCI_NUM_REGIONS VFIO_PCI_INTX_IRQ_INDEX VFIO_PCI_MSI_IRQ_INDEX VFIO_PCI_MSIX_IRQ_INDEX \
         VFIO_PCI_ERR_IRQ_INDEX VFIO_PCI_REQ_IRQ_INDEX VFIO_PCI_NUM_IRQS \
         EPERM ENOENT EINTR EIO ENXIO EBADF EAGAIN ENOMEM EACCES EFAULT EBUSY EEXIST ENODEV EINVAL ENOSPC \
         ENOTTY ENOSYS ETIMEDOUT; do
  args+=(--include-constant "$c")
done
"$jextract" --target-package dev.ferrum.sys.linux --header-class-name Linux --output "$out" \
    "${args[@]}" "$here/include/ferrum_linux.h"

# NVMe structures and constants: every declaration of nvme.h itself, none of what it includes (<stdint.h>).
dump=$(mktemp)
trap 'rm -f "$dump"' EXIT
"$jextract" --dump-includes "$dump" "$here/include/nvme.h" >/dev/null
mapfile -t nvme_args < <(grep -E '# header: .*/nvme\.h$' "$dump" | awk '{print $1; print $2}')
"$jextract" --target-package dev.ferrum.sys.nvme --header-class-name Nvme --output "$out" \
    "${nvme_args[@]}" "$here/include/nvme.h"

echo "regen-bindings: wrote $out/dev/ferrum/sys/{linux,nvme}"
