#!/bin/busybox sh
# /init of the Ferrum VFIO test VM (busybox sh, PID 1). Built into the initramfs by native/vm/ferrum-vm.
#
# Mounts the host root read-only at /host, binds the emulated NVMe controller to vfio-pci, mounts the
# run's writable share at the same absolute path as on the host, then runs the run's command in
# `chroot /host` and prints the marker the host looks for: FERRUM-VM-RC=<status> <nonce>.
# Any setup failure prints FERRUM-VM-SETUP-FAILED: <reason> and powers off without the marker.
/bin/busybox --install -s /bin
export PATH=/bin

NVME_CLASS=0x010802

halt_vm() {
  sync
  poweroff -f
  sleep 5 # poweroff -f does not return; never let PID 1 exit (that would panic the kernel)
}
setup_failed() {
  echo "FERRUM-VM-SETUP-FAILED: $*"
  echo "---- guest kernel log (tail) ----"
  dmesg 2>/dev/null | tail -25
  halt_vm
}

mkdir -p /proc /sys /dev /host
mount -t proc proc /proc || setup_failed "mount /proc"
mount -t sysfs sysfs /sys || setup_failed "mount /sys"
mount -t devtmpfs devtmpfs /dev || setup_failed "mount devtmpfs on /dev"

# Kernel command line: ferrum_vm_run=<run dir on the host> ferrum_vm_nonce=<nonce>
RUN_DIR=
NONCE=
NOIOMMU= # set: no IOMMU; vfio.ko (rebuilt by the host with CONFIG_VFIO_NOIOMMU) in unsafe no-IOMMU mode
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    ferrum_vm_run=*) RUN_DIR=${arg#ferrum_vm_run=} ;;
    ferrum_vm_nonce=*) NONCE=${arg#ferrum_vm_nonce=} ;;
    ferrum_vm_noiommu=1) NOIOMMU=1 ;;
  esac
done
[ -n "$RUN_DIR" ] && [ -n "$NONCE" ] || setup_failed "ferrum_vm_run= or ferrum_vm_nonce= missing on the kernel command line"

# Modules, in the order of their file names (the host numbered them).
for m in /modules/*.ko; do
  case "$m" in
    */[0-9]*-vfio.ko) [ -z "$NOIOMMU" ] || { insmod "$m" enable_unsafe_noiommu_mode=1 || setup_failed "insmod $m (no-IOMMU)"; continue; } ;;
  esac
  insmod "$m" || setup_failed "insmod $m"
done
if [ -n "$NOIOMMU" ]; then
  # No-IOMMU DMA buffers must each lie in one physically contiguous 2 MiB huge page.
  echo 128 > /proc/sys/vm/nr_hugepages || setup_failed "reserve huge pages"
  [ "$(cat /proc/sys/vm/nr_hugepages)" -gt 0 ] || setup_failed "no 2 MiB huge pages could be reserved"
fi

mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host \
  || setup_failed "mount the host root (9p tag hostroot) at /host"

CONF=/host$RUN_DIR/guest.conf
[ -r "$CONF" ] || setup_failed "$CONF is not readable through the host root share"
# guest.conf sets OUT_DIR (the writable share's host path), COMMAND (the script to run in the chroot) and
# TMP_KEEP (entries of the host's /tmp that must stay visible: the project, the run directory).
. "$CONF"
[ -n "$OUT_DIR" ] && [ -n "$COMMAND" ] || setup_failed "$CONF does not set OUT_DIR and COMMAND"

mount -t proc proc /host/proc || setup_failed "mount /host/proc"
mount -t sysfs sysfs /host/sys || setup_failed "mount /host/sys"
mount -o bind /dev /host/dev || setup_failed "bind /dev to /host/dev"
# A writable /tmp for the guest's programs; the host's /tmp entries in TMP_KEEP are bound back into it.
mkdir -p /hosttmp
mount -o bind /host/tmp /hosttmp || setup_failed "bind the host's /tmp"
mount -t tmpfs -o mode=1777 tmpfs /host/tmp || setup_failed "tmpfs on /host/tmp"
for keep in $TMP_KEEP; do
  if [ -d "/hosttmp/$keep" ]; then
    mkdir -p "/host/tmp/$keep" && mount -o bind "/hosttmp/$keep" "/host/tmp/$keep" \
      || setup_failed "bind the host's /tmp/$keep into the guest's /tmp"
  fi
done

# The writable share appears at the same absolute path as on the host. Below /tmp the directory does not
# exist in the tmpfs yet; elsewhere it exists on the read-only host root and mkdir is a no-op.
mkdir -p "/host$OUT_DIR" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 work "/host$OUT_DIR" \
  || setup_failed "mount the writable share (9p tag work) at $OUT_DIR"

# Bind every NVMe function to vfio-pci, in address order: the first is the device under test
# (FERRUM_VFIO_BDF/GROUP), the second the extra one of the multi-device tests (FERRUM_VFIO_BDF2/GROUP2).
bind_vfio() { # $1 = BDF; sets BOUND_GROUP to its IOMMU group (no subshell: setup_failed must reach the console)
  dev=/sys/bus/pci/devices/$1
  if [ -e "$dev/driver" ]; then
    echo "$1" > "$dev/driver/unbind" || setup_failed "unbind $1 from $(readlink "$dev/driver")"
  fi
  echo vfio-pci > "$dev/driver_override" || setup_failed "write driver_override of $1"
  echo "$1" > /sys/bus/pci/drivers_probe || setup_failed "drivers_probe $1"
  driver=$(readlink "$dev/driver")
  [ "${driver##*/}" = vfio-pci ] || setup_failed "$1 is bound to '${driver##*/}', not vfio-pci"
  group=$(readlink "$dev/iommu_group")
  group=${group##*/}
  [ -n "$group" ] || setup_failed "$1 has no IOMMU group (is the emulated IOMMU on, or no-IOMMU mode enabled?)"
  node=/dev/vfio/${NOIOMMU:+noiommu-}$group
  [ -c "$node" ] || setup_failed "$node does not exist"
  BOUND_GROUP=$group
}
BDF= BDF2=
for dev in /sys/bus/pci/devices/*; do
  if [ "$(cat "$dev/class")" = "$NVME_CLASS" ]; then
    if [ -z "$BDF" ]; then BDF=${dev##*/}; elif [ -z "$BDF2" ]; then BDF2=${dev##*/}; fi
  fi
done
[ -n "$BDF" ] || setup_failed "no PCI function with class $NVME_CLASS (NVMe)"
bind_vfio "$BDF"
GROUP=$BOUND_GROUP
GROUP2=
if [ -n "$BDF2" ]; then
  bind_vfio "$BDF2"
  GROUP2=$BOUND_GROUP
fi
echo "FERRUM-VM-BEGIN $NONCE nvme=$BDF iommu_group=$GROUP nvme2=$BDF2 iommu_group2=$GROUP2 noiommu=${NOIOMMU:-0}"
FERRUM_VFIO_BDF=$BDF FERRUM_VFIO_GROUP=$GROUP FERRUM_VFIO_BDF2=$BDF2 FERRUM_VFIO_GROUP2=$GROUP2 \
  FERRUM_VFIO_NOIOMMU=${NOIOMMU:-0} chroot /host /bin/bash "$COMMAND" </dev/null
RC=$?
sync
echo
echo "FERRUM-VM-RC=$RC $NONCE"
halt_vm
