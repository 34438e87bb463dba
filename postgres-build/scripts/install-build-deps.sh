#!/usr/bin/env bash
# Checks the tools the native build needs; installs missing ones with apt-get when root.
set -euo pipefail
missing=()
for tool in gcc make bison flex perl objcopy nm tar bzip2 sha256sum setpriv patchelf patch strace; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
declare -A pkg=([gcc]=gcc [make]=make [bison]=bison [flex]=flex [perl]=perl [objcopy]=binutils [nm]=binutils
	[tar]=tar [bzip2]=bzip2 [sha256sum]=coreutils [setpriv]=util-linux [patchelf]=patchelf [patch]=patch [strace]=strace)
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
