# Sourced by the build scripts: what building for <platform> means on this host.
# Usage: source platform.sh <platform>     (empty: the host's own platform)
#
# Sets:
#   platform     linux-x86_64 or linux-aarch64: the payload's folder and the artifact's classifier
#   cross_host   the GNU triple for configure's --host, empty for a native build
#   target_cc    the C compiler for the platform
#   target_bin   prefix of the platform's binutils (objcopy, nm, strip, readelf, objdump)
#   target_run   array: the prefix that runs one of the platform's programs here (empty natively;
#                qemu's user-mode emulator with the platform's C library for a cross build, since
#                no binfmt handler can be relied on: a container may not register one)
#   target_sysroot  where the emulator finds the platform's ld.so and libc (cross builds)
# Only linux-aarch64 on an x86_64 host is a cross build; anything else must be the host's.
host_platform=linux-$(uname -m)
platform=${1:-$host_platform}
cross_host=""
target_cc=gcc
target_bin=""
target_run=()
target_sysroot=""
if [[ $platform != "$host_platform" ]]; then
	case "$host_platform>$platform" in
		"linux-x86_64>linux-aarch64")
			cross_host=aarch64-linux-gnu
			target_cc=aarch64-linux-gnu-gcc
			target_bin=aarch64-linux-gnu-
			target_sysroot=/usr/aarch64-linux-gnu
			target_run=(qemu-aarch64 -L "$target_sysroot")
			;;
		*)
			echo "[pgembed] this $host_platform host cannot build the $platform payload" \
				"(known: its own, and linux-aarch64 from linux-x86_64)" >&2
			exit 1
			;;
	esac
fi

# target_wrapper <program> <script>: writes <script>, which runs <program> on this host with its
# arguments (PGXS's PG_CONFIG, initdb's postgres, zic at install time are programs other
# programs start by name).  The program sees the script's path as its argv[0] (qemu's -0):
# PostgreSQL finds its share directory from it, and an EXEC_BACKEND postmaster re-executes
# itself by it, which must again go through the emulator.
# <libdir>, if given, is the program's LD_LIBRARY_PATH (set for it alone, qemu's -E).
target_wrapper() {
	local prog=$1 script=$2 libdir=${3:-}
	if [[ ${#target_run[@]} -eq 0 ]]; then
		ln -sf "$prog" "$script"
	else
		printf '#!/bin/sh\nexec %s %s-0 "$0" "%s" "$@"\n' "${target_run[*]}" \
			"${libdir:+-E LD_LIBRARY_PATH=$libdir }" "$prog" > "$script"
		chmod 755 "$script"
	fi
}

# target_wrap_stage <stage>: in a copy of a cross-compiled staging install, puts a wrapper in
# place of every program of bin/ (the program moves to <name>.target), with the stage's lib/
# as library path: the stock tools need its libpq, which the build machine may lack.
target_wrap_stage() {
	local stage=$1 prog
	[[ -n $cross_host ]] || return 0
	for prog in "$stage"/bin/*; do
		[[ $prog == *.target ]] && continue
		mv "$prog" "$prog.target"
		target_wrapper "$prog.target" "$prog" "$stage/lib"
	done
}
