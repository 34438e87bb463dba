#!/usr/bin/env bash
# Lays out the runtime payload: the tree PostgreSQL expects around the library.
# Usage: stage-payload.sh <libpgembed.so> <stage> <template> <pg-src> <out-dir>
set -euo pipefail
lib=$1 stage=$2 template=$3 src=$4 out=$5
# the folder is named after the platform: its binutils read the files (platform.sh)
source "$(dirname "$0")/platform.sh" "$(basename "$out")"
# modules that need a library other than glibc's (libpq) are left out, but for the WAL
# receiver's: a subscription's workers load it, and it finds the payload's libpq beside it
excluded='^(dblink|postgres_fdw)\.so$'
rm -rf "$out.tmp"
mkdir -p "$out.tmp/lib/postgresql" "$out.tmp/share"
cp "$lib" "$out.tmp/lib/libpgembed.so"
for m in "$stage"/lib/postgresql/*.so; do
	b=$(basename "$m")
	[[ $b =~ $excluded ]] && continue
	cp "$m" "$out.tmp/lib/postgresql/"
	# Each engine is a private copy of libpgembed in its own link-map namespace, where
	# glibc cannot give a module RTLD_GLOBAL visibility: the module names the library it
	# needs instead, which resolves to the copy already loaded in its namespace.
	patchelf --add-needed libpgembed.so "$out.tmp/lib/postgresql/$b"
	if [[ $b == libpqwalreceiver.so ]]; then
		patchelf --set-rpath '$ORIGIN/..' "$out.tmp/lib/postgresql/$b"
	fi
done
cp -a "$stage/share/postgresql" "$out.tmp/share/postgresql"
# extension scripts of the excluded modules would fail to load
rm -f "$out.tmp"/share/postgresql/extension/{dblink,postgres_fdw}*
cp -a "$template" "$out.tmp/share/postgresql/pgembed-template"
rm -f "$out.tmp/share/postgresql/pgembed-template/pgembed.lock"
cp "$src/COPYRIGHT" "$out.tmp/COPYRIGHT"
# The stock client tools of the same build, for serve mode (PgEmbedServer.clientTool):
# they find the libpq beside them through their RUNPATH, whatever libpq the system has.
mkdir -p "$out.tmp/bin"
for t in psql pg_dump pg_restore; do
	cp "$stage/bin/$t" "$out.tmp/bin/$t"
	${target_bin}strip --strip-debug "$out.tmp/bin/$t"
	patchelf --set-rpath '$ORIGIN/../lib' "$out.tmp/bin/$t"
done
cp -L "$stage/lib/libpq.so.5" "$out.tmp/lib/libpq.so.5"
${target_bin}strip --strip-debug "$out.tmp/lib/libpq.so.5"

# glibc only (and the tools their libpq): refuse anything else
glibc='libc|libm|libdl|libpthread|librt|ld-linux-x86-64|ld-linux-aarch64'
check_needed() {
	local allowed=$1; shift
	for f in "$@"; do
		bad=$(readelf -d "$f" | awk '/NEEDED/ {gsub(/[\[\]]/, "", $5); print $5}' \
			| grep -v -E "^($allowed)\.so" || true)
		if [[ -n $bad ]]; then
			echo "[pgembed] $(basename "$f") needs $bad: only glibc is allowed at run time" >&2
			exit 1
		fi
	done
}
check_needed "$glibc|libpgembed" "$out.tmp/lib/libpgembed.so" \
	$(ls "$out.tmp"/lib/postgresql/*.so | grep -v '/libpqwalreceiver\.so$')
check_needed "$glibc|libpgembed|libpq" "$out.tmp/lib/postgresql/libpqwalreceiver.so"
# and every symbol a module uses comes from glibc (versioned) or from libpgembed.so: a module
# built outside PostgreSQL's tree (pgvector) must not rely on a library nobody names
defined=$(mktemp)
${target_bin}nm -D --defined-only "$out.tmp/lib/libpgembed.so" | awk '{sub(/@.*/, "", $3); print $3}' | LC_ALL=C sort -u > "$defined"
# (the WAL receiver's module: or from the payload's libpq, which it names)
withpq=$(mktemp)
{ cat "$defined"; ${target_bin}nm -D --defined-only "$stage/lib/libpq.so.5" | awk '{sub(/@.*/, "", $3); print $3}'; } \
	| LC_ALL=C sort -u > "$withpq"
for m in "$out.tmp"/lib/postgresql/*.so; do
	known=$defined
	if [[ $(basename "$m") == libpqwalreceiver.so ]]; then
		known=$withpq
	fi
	bad=$(${target_bin}nm -D --undefined-only "$m" | awk '$1 == "U" && $2 !~ /@GLIBC_/ {print $2}' | LC_ALL=C sort -u \
		| LC_ALL=C comm -23 - "$known" | tr '\n' ' ')
	if [[ -n $bad ]]; then
		echo "[pgembed] $(basename "$m") uses symbols neither glibc nor libpgembed.so defines: $bad" >&2
		rm -f "$defined" "$withpq"
		exit 1
	fi
done
rm -f "$defined" "$withpq"
check_needed "$glibc" "$out.tmp/lib/libpq.so.5"
check_needed "$glibc|libpq" "$out.tmp"/bin/*
min_glibc=$(for f in "$out.tmp/lib/libpgembed.so" "$out.tmp"/lib/postgresql/*.so "$out.tmp/lib/libpq.so.5" \
		"$out.tmp"/bin/*; do
	${target_bin}objdump -T "$f" | grep -o 'GLIBC_[0-9.]*' || true; done | sed 's/GLIBC_//' | sort -V | tail -1)

{
	echo "pgembed-manifest 1"
	echo "postgresql $(sed -n 's/^#define PG_VERSION "\(.*\)"/\1/p' "$src/src/include/pg_config.h")"
	echo "platform $(basename "$out")"
	echo "min-glibc $min_glibc"
	echo "configure $(sed -n "s/^configure_args *= *//p" "$src/src/Makefile.global")"
	# directories too: a jar keeps no empty ones, and PostgreSQL needs pg_notify/ and friends
	(cd "$out.tmp" && find . -mindepth 1 -type d | sed 's|^\./||' | LC_ALL=C sort | sed 's/^/dir /')
	(cd "$out.tmp" && find . -type f ! -name pgembed.manifest | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
		echo "file $(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f") $f"
	done)
} > "$out.tmp/pgembed.manifest"
rm -rf "$out"
mv "$out.tmp" "$out"
