#!/bin/bash
# Runs inside the Ferrum VFIO VM (ferrum-vm selftest): checks what the VFIO tests rely on.
# Exit status: the number of failed checks (0 = all passed).
failed=0
pass() { echo "selftest: ok   $*"; }
fail() { echo "selftest: FAIL $*"; failed=$((failed + 1)); }
check() { # check DESCRIPTION-IF-OK DESCRIPTION-IF-NOT TEST...
  local ok=$1 not=$2
  shift 2
  if "$@"; then pass "$ok"; else fail "$not"; fi
}

echo "selftest: FERRUM_VM=${FERRUM_VM:-unset} FERRUM_VFIO_BDF=${FERRUM_VFIO_BDF:-unset}" \
  "FERRUM_VFIO_GROUP=${FERRUM_VFIO_GROUP:-unset} FERRUM_VM_OUT=${FERRUM_VM_OUT:-unset} JAVA_HOME=${JAVA_HOME:-unset}"
dev=/sys/bus/pci/devices/${FERRUM_VFIO_BDF:-none}

class=$(cat "$dev/class" 2>/dev/null)
check "$FERRUM_VFIO_BDF has class 0x010802 (NVMe)" "$dev/class is '${class:-missing}', expected 0x010802" \
  [ "$class" = 0x010802 ]

driver=$(readlink "$dev/driver" 2>/dev/null)
check "$FERRUM_VFIO_BDF is bound to vfio-pci" "$FERRUM_VFIO_BDF is bound to '${driver##*/}', expected vfio-pci" \
  [ "${driver##*/}" = vfio-pci ]

group=$(readlink "$dev/iommu_group" 2>/dev/null)
group=${group##*/}
if [ -n "$group" ] && [ "$group" = "${FERRUM_VFIO_GROUP:-}" ]; then
  pass "iommu_group link names group $group = FERRUM_VFIO_GROUP"
else
  fail "iommu_group link names group '${group}', FERRUM_VFIO_GROUP is '${FERRUM_VFIO_GROUP:-unset}'"
fi
for node in "/dev/vfio/${FERRUM_VFIO_GROUP:-none}" /dev/vfio/vfio; do
  check "$node is a character device" "$node is missing or not a character device" [ -c "$node" ]
done

if [ -n "${FERRUM_VM_OUT:-}" ] && echo probe > "$FERRUM_VM_OUT/selftest.probe" 2>/dev/null; then
  pass "FERRUM_VM_OUT ($FERRUM_VM_OUT) is writable"
else
  fail "FERRUM_VM_OUT (${FERRUM_VM_OUT:-unset}) is not writable"
fi

if version=$("${JAVA_HOME:-/nonexistent}/bin/java" -Xshare:auto -version 2>&1); then
  pass "$JAVA_HOME/bin/java -version: $(echo "$version" | head -1)"
else
  fail "${JAVA_HOME:-JAVA_HOME unset}/bin/java -version failed: $version"
fi

if kernel_log=$(dmesg 2>&1) && echo "$kernel_log" | grep -q 'DMAR'; then
  pass "the kernel log is readable with dmesg ($(echo "$kernel_log" | wc -l) lines, DMAR lines present)"
else
  fail "dmesg does not show the kernel log (with the DMAR/IOMMU lines): $(echo "$kernel_log" | tail -2)"
fi

echo "selftest: $failed check(s) failed"
exit $failed
