#!/usr/bin/env bash
# Builds the pgvector extension with PGXS against the tree of build-postgres.sh and installs
# it into that tree's staging install, from which stage-payload.sh takes it:
#   <tree-dir>/stage/lib/postgresql/vector.so
#   <tree-dir>/stage/share/postgresql/extension/vector.control, vector--*.sql, LICENSE.pgvector
#
# Usage: build-pgvector.sh <tree-dir>
#   <tree-dir>/pgvector-<version>   unpacked and compiled source (build.log beside it)
#   <tree-dir>/pgvector.done        written last; names the version and checksum it was built from
#
# The source comes through fetch-source.sh: $PGEMBED_PGVECTOR_TARBALL -> cache -> GitHub's
# archive of the release tag -> Debian's source package `pgvector`, whose orig tarball is
# that archive; the pinned checksum is the one in Debian's (signed) Sources index.
#
# pgvector is optional: when no route yields the source, the build says so and goes on
# without it (the vector tests then report themselves skipped).
set -euo pipefail

tree=${1:?usage: build-pgvector.sh <tree-dir>}
scripts=$(cd "$(dirname "$0")" && pwd)
start=$SECONDS
log() { echo "[pgembed] $* ($(( SECONDS - start )) s)" >&2; }
die() { echo "[pgembed] pgvector: $*" >&2; exit 1; }
skip() { echo "[pgembed] pgvector skipped: $*" >&2; exit 0; }

PGVECTOR_VERSION=0.8.7
PGVECTOR_SHA256=b028949dce65a39818cf2bccd64c0a2abc68262a2079f598b161de9c82c9510e
file="pgvector-$PGVECTOR_VERSION.tar.gz"
done_file="$tree/pgvector.done"
stamp="pgvector $PGVECTOR_VERSION $PGVECTOR_SHA256"

if [[ -f $done_file && "$(cat "$done_file")" == "$stamp" ]]; then
	log "pgvector $PGVECTOR_VERSION up to date"
	exit 0
fi

stage="$tree/stage"
pg_config="$stage/bin/pg_config"
[[ -f $tree/.done && -x $pg_config ]] || die "no complete PostgreSQL tree at $tree (run build-postgres.sh first)"
rm -f "$done_file"

# an unobtainable source is tried again once a day, not on every build
unavailable="${PGEMBED_CACHE:-$HOME/.cache/pgembed}/downloads/$file.unavailable"
if [[ -f $unavailable && -z ${PGEMBED_PGVECTOR_TARBALL:-} && $(( $(date +%s) - $(stat -c %Y "$unavailable") )) -lt 86400 ]]; then
	skip "its source was unobtainable at $(date -r "$unavailable" '+%F %T') (retried daily; set PGEMBED_PGVECTOR_TARBALL to provide it)"
fi

tarball=$("$scripts/fetch-source.sh" pgvector "$PGVECTOR_VERSION" "$PGVECTOR_SHA256" "$file" \
	"https://github.com/pgvector/pgvector/archive/refs/tags/v$PGVECTOR_VERSION.tar.gz" \
	pgvector "pgvector_$PGVECTOR_VERSION.orig.tar.gz") \
	|| { mkdir -p "$(dirname "$unavailable")"; touch "$unavailable";
	     skip "no route yielded $file (SHA-256 $PGVECTOR_SHA256); download pgvector $PGVECTOR_VERSION's release archive and set PGEMBED_PGVECTOR_TARBALL=/path/to/it to include it"; }

src="$tree/pgvector-$PGVECTOR_VERSION"
buildlog="$tree/pgvector-build.log"
rm -rf "$src"
log "pgvector $PGVECTOR_VERSION: unpacking $(basename "$tarball")"
tar xzf "$tarball" -C "$tree" || die "cannot unpack $tarball"
[[ -f $src/Makefile && -f $src/LICENSE ]] || die "$tarball did not unpack to $src"

# OPTFLAGS="": pgvector's default -march=native would tie vector.so to the build machine's
# CPU (SIGILL elsewhere); its SIMD paths that matter choose the instruction set at run time.
makeargs=(PG_CONFIG="$pg_config" OPTFLAGS="")
log "pgvector $PGVECTOR_VERSION: compiling (make -j$(nproc))"
make -C "$src" -j"$(nproc)" -s "${makeargs[@]}" >"$buildlog" 2>&1 \
	|| { tail -40 "$buildlog" >&2; die "compilation failed (full log: $buildlog)"; }
log "pgvector $PGVECTOR_VERSION: installing into $stage"
make -C "$src" -s "${makeargs[@]}" install >>"$buildlog" 2>&1 \
	|| { tail -40 "$buildlog" >&2; die "make install failed (full log: $buildlog)"; }
extdir="$stage/share/postgresql/extension"
install -m 644 "$src/LICENSE" "$extdir/LICENSE.pgvector"
[[ -f $stage/lib/postgresql/vector.so && -f $extdir/vector.control && -f $extdir/vector--$PGVECTOR_VERSION.sql ]] \
	|| die "make install did not produce vector.so, vector.control and vector--$PGVECTOR_VERSION.sql in $stage"

echo "$stamp" > "$done_file"
log "pgvector $PGVECTOR_VERSION built"
