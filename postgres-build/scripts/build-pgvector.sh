#!/usr/bin/env bash
# Builds the pgvector extension with PGXS against the tree of build-postgres.sh and installs
# it into that tree's staging install, from which stage-payload.sh takes it (and from which the
# stock server of the conformance tests runs, so both sides have the same module):
#   <tree-dir>/stage/lib/postgresql/vector.so
#   <tree-dir>/stage/share/postgresql/extension/vector.control, vector--*.sql, LICENSE.pgvector
#
# Usage: build-pgvector.sh <tree-dir>
#   <tree-dir>/pgvector         unpacked, patched and compiled source; its test/ holds pgvector's
#                               regression tests, which the conformance module runs
#   <tree-dir>/pgvector.done    written last; names version, tarball checksum and patch
#
# The release we ship is 0.8.0, the newest whose source Debian serves (its orig tarball is
# pgvector's own release archive; the checksum is the one in Debian's signed Sources index).
# 0.8.0 predates PostgreSQL 18: patches/pgvector-0.8.0-pg18.patch, ours, ports it (each
# change is explained in the patch's header). The source comes through fetch-source.sh:
# $PGEMBED_PGVECTOR_TARBALL -> cache -> GitHub's archive of the release tag -> Debian's
# source package `pgvector` (apt-get source).
#
# A newer release by hand: PGEMBED_PGVECTOR_TARBALL=/path/to/pgvector-X.Y.Z.tar.gz (a release
# archive) is built as it is, without the patch (0.8.1 and later support PostgreSQL 18); there
# is no pinned checksum for it, so the build prints the one it used.
#
# pgvector is optional: when no route yields the source, the build says so in one line and
# goes on without it (the vector tests then report themselves skipped).
set -euo pipefail

tree=${1:?usage: build-pgvector.sh <tree-dir>}
scripts=$(cd "$(dirname "$0")" && pwd)
start=$SECONDS
log() { echo "[pgembed] $* ($(( SECONDS - start )) s)" >&2; }
die() { echo "[pgembed] pgvector: $*" >&2; exit 1; }
skip() { echo "[pgembed] pgvector left out of this build: $*" >&2; exit 0; }

PGVECTOR_VERSION=0.8.0
PGVECTOR_SHA256=867a2c328d4928a5a9d6f052cd3bc78c7d60228a9b914ad32aa3db88e9de27b0
PGVECTOR_PATCH="$scripts/../patches/pgvector-$PGVECTOR_VERSION-pg18.patch"

stage="$tree/stage"
pg_config="$stage/bin/pg_config"
[[ -f $tree/.done && -x $pg_config ]] || die "no complete PostgreSQL tree at $tree (run build-postgres.sh first)"
done_file="$tree/pgvector.done"
src="$tree/pgvector"
buildlog="$tree/pgvector-build.log"
extdir="$stage/share/postgresql/extension"

# ---- which source: a tarball given by hand, or the pinned release ----
version=$PGVECTOR_VERSION
patch=$PGVECTOR_PATCH
hand=${PGEMBED_PGVECTOR_TARBALL:-}
if [[ -n $hand ]]; then
	[[ -f $hand ]] || die "PGEMBED_PGVECTOR_TARBALL points to $hand, which does not exist"
	control=$(tar xzf "$hand" --wildcards --no-anchored -O 'vector.control' 2>/dev/null | head -20 || true)
	version=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" <<<"$control")
	[[ -n $version ]] || die "$hand is not a pgvector release archive (no vector.control with a default_version)"
	if [[ $version != "$PGVECTOR_VERSION" ]]; then
		patch=""
	fi
fi
patch_sum=none
[[ -z $patch ]] || { [[ -f $patch ]] || die "missing $patch"; patch_sum=$(sha256sum "$patch" | cut -c1-12); }

if [[ -z $hand || $version == "$PGVECTOR_VERSION" ]]; then
	stamp="pgvector $version $PGVECTOR_SHA256 patch $patch_sum"
else
	stamp="pgvector $version $(sha256sum "$hand" | cut -d' ' -f1) patch $patch_sum"
fi
if [[ -f $done_file && "$(cat "$done_file")" == "$stamp" ]]; then
	log "pgvector $version up to date"
	exit 0
fi

# ---- uninstall what an earlier build put into the stage: what follows installs afresh or nothing ----
rm -f "$done_file" "$stage/lib/postgresql/vector.so" "$extdir"/vector.control "$extdir"/vector--*.sql "$extdir/LICENSE.pgvector"
rm -rf "$stage/include/postgresql/server/extension/vector"

if [[ -n $hand && $version != "$PGVECTOR_VERSION" ]]; then
	tarball=$hand
	log "pgvector $version: using $hand by hand (PGEMBED_PGVECTOR_TARBALL, SHA-256 $(sha256sum "$hand" | cut -d' ' -f1)), without our patch"
else
	file="pgvector-$PGVECTOR_VERSION.tar.gz"
	# an unobtainable source is tried again once a day, not on every build
	unavailable="${PGEMBED_CACHE:-$HOME/.cache/pgembed}/downloads/$file.unavailable"
	if [[ -z $hand && -f $unavailable && $(( $(date +%s) - $(stat -c %Y "$unavailable") )) -lt 86400 ]]; then
		skip "its source was unobtainable at $(date -r "$unavailable" '+%F %T') (retried daily; delete $unavailable to retry now, or set PGEMBED_PGVECTOR_TARBALL=/path/to/$file)"
	fi
	tarball=$("$scripts/fetch-source.sh" pgvector "$PGVECTOR_VERSION" "$PGVECTOR_SHA256" "$file" \
		"https://github.com/pgvector/pgvector/archive/refs/tags/v$PGVECTOR_VERSION.tar.gz" \
		pgvector "pgvector_$PGVECTOR_VERSION.orig.tar.gz") \
		|| { [[ -n $hand ]] && die "$hand was refused (see above)";
		     mkdir -p "$(dirname "$unavailable")"; touch "$unavailable";
		     skip "no route yielded $file (SHA-256 $PGVECTOR_SHA256); set PGEMBED_PGVECTOR_TARBALL=/path/to/it to include it"; }
fi

# ---- unpack, patch, compile, install ----
rm -rf "$src"
mkdir -p "$src"
log "pgvector $version: unpacking $(basename "$tarball")"
tar xzf "$tarball" -C "$src" --strip-components=1 || die "cannot unpack $tarball"
[[ -f $src/Makefile && -f $src/LICENSE && -f $src/vector.control ]] || die "$tarball is not a pgvector source archive"
if [[ -n $patch ]]; then
	log "pgvector $version: applying $(basename "$patch")"
	patch -d "$src" -p1 --forward --batch --silent < "$patch" >"$buildlog" 2>&1 \
		|| { cat "$buildlog" >&2; die "$(basename "$patch") does not apply to $(basename "$tarball")"; }
fi

# OPTFLAGS="": pgvector's default -march=native would tie vector.so to the build machine's
# CPU (SIGILL elsewhere); its SIMD paths that matter choose the instruction set at run time.
# SHLIB_LINK=-lm: vector.so calls sqrt, acos and log; linked against libm it names the
# library and the symbol versions it needs instead of relying on the host to have loaded libm.
makeargs=(PG_CONFIG="$pg_config" OPTFLAGS="" SHLIB_LINK=-lm)
log "pgvector $version: compiling (make -j$(nproc))"
make -C "$src" -j"$(nproc)" -s "${makeargs[@]}" >>"$buildlog" 2>&1 \
	|| { tail -40 "$buildlog" >&2; die "compilation failed (full log: $buildlog)"; }
log "pgvector $version: installing into $stage"
make -C "$src" -s "${makeargs[@]}" install >>"$buildlog" 2>&1 \
	|| { tail -40 "$buildlog" >&2; die "make install failed (full log: $buildlog)"; }
install -m 644 "$src/LICENSE" "$extdir/LICENSE.pgvector"
[[ -f $stage/lib/postgresql/vector.so && -f $extdir/vector.control && -f $extdir/vector--$version.sql ]] \
	|| die "make install did not produce vector.so, vector.control and vector--$version.sql in $stage"

echo "$stamp" > "$done_file"
log "pgvector $version built${patch:+ with $(basename "$patch")}"
