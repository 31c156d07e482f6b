#!/usr/bin/env bash
# check.sh: proves that Ferrum is usable as a library from outside its build. Builds this consumer project
# against the artifacts `mvn install` put in the local repository (through ferrum-bom), checks that every
# library artifact was installed with its -sources.jar and -javadoc.jar, and runs the program on the module path.
#
# Usage: examples/consumer/check.sh        (after `mvn -B -q install -DskipTests` in the repository root)
#        examples/consumer/check.sh --list-artifacts   (prints the artifacts checked: those bom/pom.xml manages)
# Environment: JAVA_HOME (a JDK 25), MVN_ARGS (extra Maven arguments, e.g. -o).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
die() { echo "consumer-check: $*" >&2; exit 1; }
say() { echo "consumer-check: $*" >&2; }
read -r -a EXTRA <<< "${MVN_ARGS:-}"
MVN=(mvn -B -q -Dstyle.color=never "${EXTRA[@]}")

# The library artifacts: every one that the BOM manages (comments dropped: the BOM's usage comment names ferrum-bom).
bom_artifacts() {
  sed -e '/<!--/,/-->/d' "$ROOT/bom/pom.xml" \
    | sed -n '/<dependencyManagement>/,/<\/dependencyManagement>/s|.*<artifactId>\(ferrum-[^<]*\)</artifactId>.*|\1|p'
}
mapfile -t ARTIFACTS < <(bom_artifacts)
[ ${#ARTIFACTS[@]} -gt 0 ] || die "no ferrum-* artifactId in the dependencyManagement of $ROOT/bom/pom.xml"
if [ "${1:-}" = --list-artifacts ]; then
  printf '%s\n' "${ARTIFACTS[@]}"
  exit 0
fi
[ $# -eq 0 ] || die "unknown argument '$1' (usage: check.sh [--list-artifacts])"

version=$(sed -n '0,/<version>/s|.*<version>\(.*\)</version>.*|\1|p' "$ROOT/bom/pom.xml")
[ -n "$version" ] || die "cannot read the version from $ROOT/bom/pom.xml"
say "building examples/consumer against the installed ferrum $version ..."
rm -rf "$HERE/target"
"${MVN[@]}" -f "$HERE/pom.xml" -Dferrum.version="$version" package dependency:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -DincludeScope=runtime \
  || die "the consumer project did not build: is ferrum $version installed? (mvn -B -q install -DskipTests in $ROOT)"

# The local repository, from where Maven found ferrum-nvme; every library must be there with sources and javadoc.
nvme_jar=$(tr ':' '\n' < "$HERE/target/classpath.txt" | grep "/dev/ferrum/ferrum-nvme/$version/" | head -1)
[ -n "$nvme_jar" ] || die "ferrum-nvme $version is not on the consumer's class path ($HERE/target/classpath.txt)"
repo=${nvme_jar%%/dev/ferrum/ferrum-nvme/*}
missing=()
for artifact in "${ARTIFACTS[@]}"; do
  dir="$repo/dev/ferrum/$artifact/$version"
  for file in "$artifact-$version.jar" "$artifact-$version-sources.jar" "$artifact-$version-javadoc.jar"; do
    [ -s "$dir/$file" ] || missing+=("$dir/$file")
  done
done
[ -s "$repo/dev/ferrum/ferrum-bom/$version/ferrum-bom-$version.pom" ] || missing+=("ferrum-bom $version")
[ ${#missing[@]} -eq 0 ] || die "not installed (run mvn -B -q install -DskipTests in $ROOT first):
$(printf '  %s\n' "${missing[@]}")"
say "running it on the module path ..."
"${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java" --enable-native-access=dev.ferrum.sys,dev.ferrum.memory,dev.ferrum.driver,dev.ferrum.nvme \
  -p "$HERE/target/classes:$(cat "$HERE/target/classpath.txt")" \
  -m dev.ferrum.example.consumer/dev.ferrum.example.consumer.Main || die "the consumer program failed"
say "OK: ferrum $version is usable from the installed artifacts"
