#!/usr/bin/env bash
# run-vfio-tests.sh: runs every JUnit test tagged `vfio` of the project inside the Ferrum test VM, where
# QEMU's emulated NVMe controller is bound to vfio-pci behind an emulated IOMMU. See native/vm/README.md.
#
# Usage: native/vm/run-vfio-tests.sh [--timeout SECS] [--keep-log FILE] [--verbose] [--host | --no-iommu]
#                                    [-- LAUNCHER-ARGS...]
#   LAUNCHER-ARGS go to the JUnit console launcher, e.g. --include-classname='.*VfioVmEnvironmentTest'.
#   --host: run the same test JVM on this machine instead of in the VM, against the real device named by
#   FERRUM_VFIO_BDF (and FERRUM_VFIO_GROUP) bound to vfio-pci: ./ferrum vfio-test --pci BDF, docs/vfio-box.md.
#   --no-iommu: the tests tagged `vfio-noiommu` instead, in a VM without an IOMMU (VFIO's unsafe no-IOMMU mode).
# Environment: FERRUM_VM_JAVA_OPTS = extra JVM options for the test JVM.
# Exit status: 0 when at least one test ran and none failed; non-zero otherwise.
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$VM_DIR/../.." && pwd -P)
WORK=${FERRUM_VM_WORK:-$VM_DIR/work}
FERRUM_VM=$VM_DIR/ferrum-vm
OUT=$ROOT/target/vfio-tests
CP_FILE=target/vfio-test-classpath.txt # per module, written by the dependency plugin
# C1 only: the suite is short and mostly cold code; measured faster than the default tiered JIT in the guest.
VM_JVM_FLAGS=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData
  # a fixed help width: otherwise the launcher's (shaded) picocli runs `stty` on the guest's absent terminal
  -Dorg.junit.platform.console.shadow.picocli.usage.width=120)

die() { echo "run-vfio-tests: $*" >&2; exit 1; }
say() { echo "run-vfio-tests: $*" >&2; }

VM_OPTS=(--timeout 900)
LAUNCHER_ARGS=()
HOST=0
TAG=vfio
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) VM_OPTS+=(--timeout "${2:?--timeout needs SECS}"); shift 2 ;;
    --keep-log) VM_OPTS+=(--keep-log "${2:?--keep-log needs FILE}"); shift 2 ;;
    --verbose) VM_OPTS+=(--verbose); shift ;;
    --) shift; LAUNCHER_ARGS=("$@"); break ;;
    --host) HOST=1; shift ;;
    --no-iommu) VM_OPTS+=(--no-iommu); TAG=vfio-noiommu; shift ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

cd "$ROOT"
JAVA_HOME=$("$FERRUM_VM" jdk) || exit 1
export JAVA_HOME
command -v mvn >/dev/null || die "Maven (mvn) is not installed: apt-get install maven"
if [ $HOST -eq 0 ]; then
  "$FERRUM_VM" install >/dev/null # the packages first: in CI a missing package fails here, before the build
else
  [ -n "${FERRUM_VFIO_BDF:-}" ] || die "--host needs FERRUM_VFIO_BDF, the device under test (./ferrum vfio-test --pci BDF sets it)"
fi

# JUnit Platform version matching the project's Jupiter version (5.x.y -> 1.x.y; 6 and later share it).
jupiter=$(sed -n 's|.*<junit.version>\(.*\)</junit.version>.*|\1|p' pom.xml | head -1)
[ -n "$jupiter" ] || die "no <junit.version> property in $ROOT/pom.xml"
case "$jupiter" in 5.*) platform=1.${jupiter#5.} ;; *) platform=$jupiter ;; esac
# The JVM flags every test gets (root pom property ferrum.test.argLine), then the VM's own.
read -r -a ARGLINE <<< "$(sed -n 's|.*<ferrum.test.argLine>\(.*\)</ferrum.test.argLine>.*|\1|p' pom.xml | head -1)"
read -r -a EXTRA_JVM <<< "${FERRUM_VM_JAVA_OPTS:-}"

t0=$SECONDS
say "compiling the tests and resolving their class paths (mvn test-compile) with $JAVA_HOME ..."
mvn -B -q -Dstyle.color=never -DskipTests test-compile dependency:build-classpath \
  -DincludeScope=test -Dmdep.outputFile="$CP_FILE" || die "mvn test-compile failed"
standalone=$WORK/lib/junit-platform-console-standalone-$platform.jar
if [ ! -s "$standalone" ]; then
  say "fetching junit-platform-console-standalone $platform ..."
  mvn -B -q -Dstyle.color=never -N dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" \
    -DoutputDirectory="$WORK/lib" || die "could not fetch junit-platform-console-standalone $platform"
  [ -s "$standalone" ] || die "$standalone is missing after the download"
fi
t_build=$((SECONDS - t0))

# One JVM for all modules: the union of their test class paths (versions are managed once in the root pom).
modules=$(sed -n 's|.*<module>\(.*\)</module>.*|\1|p' pom.xml)
classpath=("$standalone")
scan=()
for m in $modules; do
  [ -f "$m/$CP_FILE" ] || die "$m/$CP_FILE was not written by the build"
  if [ -d "$m/target/test-classes" ]; then
    classpath+=("$ROOT/$m/target/test-classes")
    scan+=("--scan-classpath=$ROOT/$m/target/test-classes")
  fi
  [ -d "$m/target/classes" ] && classpath+=("$ROOT/$m/target/classes")
  IFS=: read -r -a deps < "$m/$CP_FILE" || true # the file has no final newline
  classpath+=("${deps[@]}")
done
[ ${#scan[@]} -gt 0 ] || die "no module has compiled tests (no */target/test-classes)"
cp_string=$(printf '%s\n' "${classpath[@]}" | awk 'NF && !seen[$0]++' | paste -sd: -)

rm -rf "$OUT"
mkdir -p "$OUT"
TEST_JVM=("$JAVA_HOME/bin/java" "${ARGLINE[@]}" "${VM_JVM_FLAGS[@]}" "${EXTRA_JVM[@]}" -cp "$cp_string"
  org.junit.platform.console.ConsoleLauncher execute
  --disable-banner --disable-ansi-colors --details=tree
  --config=junit.jupiter.extensions.autodetection.enabled=true
  "${scan[@]}" --include-tag="$TAG" --fail-if-no-tests
  --reports-dir="$OUT/reports" "${LAUNCHER_ARGS[@]}")
t1=$SECONDS
set +e
if [ $HOST -eq 1 ]; then
  say "running the tests tagged vfio on this machine against $FERRUM_VFIO_BDF (reports in $OUT) ..."
  mkdir -p "$OUT/out"
  FERRUM_VM_OUT="$OUT/out" "${TEST_JVM[@]}"
else
  say "running the tests tagged $TAG in the VM (reports in $OUT) ..."
  "$FERRUM_VM" run "${VM_OPTS[@]}" --out "$OUT" -- "${TEST_JVM[@]}"
fi
guest_rc=$?
set -e
t_vm=$((SECONDS - t1))

# Summary from the launcher's XML report (written in the guest through the writable share).
report=$OUT/reports/TEST-junit-jupiter.xml
attr() { sed -n "s/.*<testsuite [^>]*\b$1=\"\([0-9]*\)\".*/\1/p" "$report" | head -1; }
if [ ! -s "$report" ]; then
  say "FAILED: no test report ($report): the tests did not run to the end (status $guest_rc)"
  exit $(( guest_rc == 0 ? 1 : guest_rc ))
fi
tests=$(attr tests) failures=$(attr failures) errors=$(attr errors) skipped=$(attr skipped)
where=$([ $HOST -eq 1 ] && echo "on this machine" || echo "VM")
summary="${tests:-?} tests, ${failures:-?} failed, ${errors:-?} errors, ${skipped:-?} skipped; build ${t_build} s, $where ${t_vm} s"
if [ "$guest_rc" -ne 0 ] || [ "${failures:-1}" -ne 0 ] || [ "${errors:-1}" -ne 0 ] \
  || [ $(( ${tests:-0} - ${skipped:-0} )) -le 0 ]; then
  say "VFIO tests FAILED: $summary (status $guest_rc; report $report)"
  exit $(( guest_rc == 0 ? 1 : guest_rc ))
fi
say "VFIO tests passed: $summary"
