#!/usr/bin/env bash
# Builds and runs the C test suite and the C example against the staged payload.
# Usage: test-native.sh <module-dir> <payload-dir> <work-dir> [<platform>]
#   <platform>  the payload's (default the host's): a cross-compiled one (platform.sh) is tested
#               under the user-mode emulator, by direct invocation (no binfmt handler assumed):
#               every program the tests start is reached through a wrapper that runs the emulator
set -euo pipefail
module=$(cd "$1" && pwd)
payload=$(cd "$2" && pwd)
work=$(mkdir -p "$3" && cd "$3" && pwd)
source "$module/scripts/platform.sh" "${4:-}"
root="$payload/$platform"
lib="$root/lib"
mkdir -p "$work/test"
tree=$(cat "$work/pg-tree.path")

# front_result.c is compiled in as well: test_result.c calls its routines, which are hidden
# inside libpgembed.so (it calls no engine and, of the library, only pgembed_result_free);
# so are the stack switch and its first frame, for test_switch.c
$target_cc -O1 -g -Wall -o "$work/test/pgembed_test" "$module"/src/test/c/*.c "$module/src/main/c/front_result.c" \
	"$module/src/main/c/front_coroutine.c" "$module/src/main/c/pgembed_switch.S" \
	-I"$module/src/main/c" -L"$lib" -lpgembed -lpthread -lm -Wl,-rpath,"$lib"
# a test-only module (PANIC/FATAL on request), bound to libpgembed like the bundled ones
$target_cc -O1 -g -fPIC -shared -o "$work/test/pgembed_test_module.so" "$module/src/test/module/panic_module.c" \
	-I"$("${target_run[@]}" "$tree/stage/bin/pg_config" --includedir-server)" -L"$lib" -lpgembed
$target_cc -O1 -g -Wall -o "$work/test/hello" "$module/../examples/c/hello.c" -I"$module/src/main/c" \
	-L"$lib" -lpgembed -Wl,-rpath,"$lib"

# 15 engines per process instead of 11: glibc sizes the static TLS of C library copies from
# this tunable, read at process start (the budget test also runs a child without it)
export GLIBC_TUNABLES=glibc.rtld.nns=16

scratch=$(mktemp -d /tmp/pgembed-ctest.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
# the stock server refuses root: tests run it as nobody, from a world-readable copy
chmod 755 "$scratch"
cp -a "$tree/stage" "$scratch/pg-stage"
suite=("$work/test/pgembed_test")
if [[ -n $cross_host ]]; then
	# the stock tools, started by the tests through a shell, and the suite, which re-executes
	# itself for its helper processes (PGEMBED_TEST_SELF), run through the emulator
	target_wrap_stage "$scratch/pg-stage"
	target_wrapper "$work/test/pgembed_test" "$work/test/pgembed_test-run"
	export PGEMBED_TEST_SELF="$work/test/pgembed_test-run"
	suite=("$PGEMBED_TEST_SELF")
	echo "[pgembed] $platform: C tests under ${target_run[*]}" >&2
fi
# the example first: what a newcomer sees
"${target_run[@]}" "$work/test/hello" "$scratch/hello-db"
# pgvector's tests skip only when the build left it out (pgvector.done names the version built)
if [[ -f $tree/pgvector.done ]]; then
	export PGEMBED_TEST_PGVECTOR=$(awk '{print $2}' "$tree/pgvector.done")
fi
# PGEMBED_TEST_FILTER: run only the tests whose names contain one of its '|'-separated parts
filter=()
[[ -z ${PGEMBED_TEST_FILTER:-} ]] || filter=("$PGEMBED_TEST_FILTER")
# setsid: the suite runs as its own process-group leader, so that a stray kill(0)
# or kill(-pid) from the backend would reach it and fail the run
PGEMBED_TEST_PG_STAGE="$scratch/pg-stage" PGEMBED_TEST_MODULE="$work/test/pgembed_test_module.so" \
	setsid --wait "${suite[@]}" "$scratch" "${filter[@]}"

# no system call per query: strace over 100 000 prepared SELECT 1 (whole process,
# start-up and shutdown included) must show no madvise/mmap/munmap/brk per query and
# no descriptor probe at start-up
if [[ -n $cross_host ]]; then
	# under the emulator strace would count the emulator's own calls
	echo "syscall check: skipped for $platform (run by an emulator)"
elif command -v strace >/dev/null 2>&1; then
	cc -O2 -o "$work/test/pgembed_bench" "$module"/src/test/bench/*.c -I"$module/src/main/c" \
		-L"$lib" -lpgembed -lpthread -Wl,-rpath,"$lib"
	strace -f -c -o "$scratch/strace.txt" "$work/test/pgembed_bench" "$scratch/strace-db" select1 >/dev/null 2>&1
	awk '$NF ~ /^(madvise|mmap|munmap|brk|dup|dup2|dup3)$/ { calls = ($4 ~ /^[0-9]+$/) ? $4 : $5; print $NF, calls;
		if (calls + 0 > 1000) bad = 1 } END { exit bad }' "$scratch/strace.txt" \
		&& echo "syscall check: passed (counts above, over 100 000 queries)" \
		|| { echo "syscall check: FAILED"; cat "$scratch/strace.txt"; exit 1; }
	# a durable creation reaches the disk with one syncfs, not with an fsync per file
	strace -f -c -e trace=syncfs,fsync,fdatasync -o "$scratch/strace-create.txt" \
		"$work/test/pgembed_bench" "$scratch/strace-create-db" create >/dev/null 2>&1
	awk '$NF ~ /^(syncfs|fsync|fdatasync)$/ { calls = ($4 ~ /^[0-9]+$/) ? $4 : $5; print $NF, calls; n[$NF] = calls }
		END { exit !(n["syncfs"] == 1 && n["fsync"] + n["fdatasync"] <= 2) }' "$scratch/strace-create.txt" \
		&& echo "flush check: passed (a durable creation: one syncfs)" \
		|| { echo "flush check: FAILED"; cat "$scratch/strace-create.txt"; exit 1; }
	# an open of an existing cluster does not fsync postmaster.pid (engine_files.c): the flock on
	# pgembed.lock locks the directory, and a stale postmaster.pid is removed at the next open
	"$work/test/pgembed_bench" "$scratch/strace-create-db" open >/dev/null 2>&1
	strace -f -e trace=openat,close,fsync,fdatasync -o "$scratch/strace-open.txt" \
		"$work/test/pgembed_bench" "$scratch/strace-create-db" open >/dev/null 2>&1
	awk '/openat\(.*postmaster\.pid"/ && $NF ~ /^[0-9]+$/ { pidfd[$NF] = 1; opened++ }
		/ close\(/ { fd = $0; sub(/.*close\(/, "", fd); sub(/\).*/, "", fd); delete pidfd[fd] }
		/ f(data)?sync\(/ { fd = $0; sub(/.*sync\(/, "", fd); sub(/\).*/, "", fd); n++; if (fd in pidfd) bad++ }
		END { printf "fsync/fdatasync %d, of postmaster.pid %d\n", n, bad; exit !(opened > 0 && bad == 0) }' \
		"$scratch/strace-open.txt" \
		&& echo "lock file check: passed (an open does not fsync postmaster.pid)" \
		|| { echo "lock file check: FAILED"; grep -E "postmaster|sync" "$scratch/strace-open.txt"; exit 1; }
else
	echo "syscall check: skipped (strace not installed)"
fi
