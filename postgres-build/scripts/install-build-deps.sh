#!/usr/bin/env bash
# Checks the tools the native build needs; installs missing ones with apt-get when root.
# Usage: install-build-deps.sh [<platform>]
#   <platform> another than the host's (linux-aarch64 on an x86_64 host, see platform.sh) adds
#   the cross compiler, the target's C library and the user-mode emulator that runs its tests.
set -euo pipefail
missing=()
for tool in gcc make bison flex perl objcopy nm tar bzip2 sha256sum setpriv patchelf patch strace; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
declare -A pkg=([gcc]=gcc [make]=make [bison]=bison [flex]=flex [perl]=perl [objcopy]=binutils [nm]=binutils
	[tar]=tar [bzip2]=bzip2 [sha256sum]=coreutils [setpriv]=util-linux [patchelf]=patchelf [patch]=patch [strace]=strace)
if [[ -n ${1:-} && $1 != "linux-$(uname -m)" ]]; then
	case "$1" in
		linux-aarch64)
			command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(aarch64-linux-gnu-gcc)
			[[ -f /usr/aarch64-linux-gnu/include/stdio.h ]] || missing+=(aarch64-libc)
			command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-aarch64)
			pkg+=([aarch64-linux-gnu-gcc]=gcc-aarch64-linux-gnu [aarch64-libc]=libc6-dev-arm64-cross
				[qemu-aarch64]=qemu-user)
			;;
		*)
			echo "[pgembed] no cross toolchain known for $1 on $(uname -m)" >&2
			exit 1
			;;
	esac
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0
pkgs=$(for t in "${missing[@]}"; do echo "${pkg[$t]}"; done | sort -u | tr '\n' ' ')
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
	echo "[pgembed] installing build tools: $pkgs" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq $pkgs >&2
else
	echo "[pgembed] missing build tools (${missing[*]}): run  sudo apt-get install -y $pkgs" >&2
	exit 1
fi
