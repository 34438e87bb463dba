#!/usr/bin/env bash
# C API figures and system-call counts. Run after `mvn install -pl postgres-build`:
#   bash postgres-build/scripts/bench-native.sh
set -euo pipefail
module=$(cd "$(dirname "$0")/.." && pwd)
lib="$module/target/classes/linux-$(uname -m)/lib"
out="$module/target/native/bench"
mkdir -p "$out"
cc -O2 -o "$out/pgembed_bench" "$module"/src/test/bench/*.c -I"$module/src/main/c" \
	-L"$lib" -lpgembed -lpthread -Wl,-rpath,"$lib"
scratch=$(mktemp -d /tmp/pgembed-bench.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
"$out/pgembed_bench" "$scratch/db"
if command -v strace >/dev/null; then
	echo "system calls over 100 000 prepared SELECT 1 (strace -c, whole process incl. open and close):"
	strace -f -c -o "$scratch/strace.txt" "$out/pgembed_bench" "$scratch/db2" select1
	head -30 "$scratch/strace.txt"
fi
