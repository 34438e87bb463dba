#!/usr/bin/env bash
# Builds libpgembed.so and the runtime payload.
#
# Usage: build-native.sh <module-dir> <payload-dir> <work-dir> [<platform>]
#   <payload-dir>  gets <platform>/{lib/libpgembed.so, lib/postgresql/*.so, share/postgresql/...,
#                  pgembed.manifest, COPYRIGHT}; the Maven module packages it into the jar.
#   <work-dir>     our objects (target/native): only changed C files are recompiled.
#   <platform>     what the Maven build packages (pgembed.platform): must be this host's, as
#                  the payload is compiled natively (no cross-compilation).
# PostgreSQL's compiled tree, its staging install and the template cluster live in
# $PGEMBED_CACHE (default ~/.cache/pgembed), keyed by version and build-script hash.
set -euo pipefail

module=$(cd "$1" && pwd)
payload=$2
work=$3
scripts="$module/scripts"
csrc="$module/src/main/c"
cache=${PGEMBED_CACHE:-$HOME/.cache/pgembed}
start=$SECONDS
log() { echo "[pgembed] $* ($(( SECONDS - start )) s)" >&2; }

PG_VERSION=18.6
PG_SHA256=555610c24d53e4316da5b7d3fc25c279d96856d5e0e23ee308c328c5fa881d9f
platform=linux-$(uname -m | sed 's/aarch64/aarch64/; s/x86_64/x86_64/')
if [[ -n ${4:-} && $4 != "$platform" ]]; then
	echo "[pgembed] this host builds the $platform payload, but the build packages pgembed.platform=$4:" \
		"build on a $4 host (the payload is compiled natively)" >&2
	exit 1
fi

"$scripts/install-build-deps.sh"

tarball=$("$scripts/fetch-source.sh" postgresql "$PG_VERSION" "$PG_SHA256" "postgresql-$PG_VERSION.tar.bz2" \
	"https://ftp.postgresql.org/pub/source/v$PG_VERSION/postgresql-$PG_VERSION.tar.bz2" \
	postgresql-18 "postgresql-18_$PG_VERSION.orig.tar.bz2")

key=$(cat "$scripts/build-postgres.sh" | sha256sum | cut -c1-12)
tree="$cache/pg-$PG_VERSION-$key"
"$scripts/build-postgres.sh" "$tarball" "$tree"
"$scripts/build-pgvector.sh" "$tree"
src="$tree/src"
stage="$tree/stage"
# let tests and benchmarks find the stock tools of the same build
mkdir -p "$work"
echo "$tree" > "$work/pg-tree.path"

# ---- our C layer: compile what changed ----
obj="$work/obj"
mkdir -p "$obj"
# our objects see PostgreSQL's headers as its own objects did (EXEC_BACKEND changes declarations)
pg_defines=$("$stage/bin/pg_config" --cppflags | tr ' ' '\n' | grep '^-D' | tr '\n' ' ')
CFLAGS_PG="-O2 -fPIC -g1 -Wall -Wmissing-prototypes -Wpointer-arith -fvisibility=default -I$csrc -I$src/src/include -D_GNU_SOURCE $pg_defines"
CFLAGS_PG="$CFLAGS_PG -fno-semantic-interposition"
headers_newest=$(stat -c %Y "$csrc"/*.h | sort -n | tail -1)
# other flags or another PostgreSQL tree: every object is stale
if [[ "$(cat "$obj/cflags" 2>/dev/null)" != "$CFLAGS_PG" ]]; then
	rm -f "$obj"/*.o
	echo "$CFLAGS_PG" > "$obj/cflags"
fi
# an object whose source was moved away or deleted must not be linked in
for o in "$obj"/*.o; do
	[[ -e $o && ! -f $csrc/$(basename "$o" .o) ]] && rm -f "$o"
done
compiled=0
for f in "$csrc"/*.c "$csrc"/*.S; do
	o="$obj/$(basename "$f").o"
	if [[ ! -f $o || $(stat -c %Y "$f") -gt $(stat -c %Y "$o") || $headers_newest -gt $(stat -c %Y "$o") ]]; then
		gcc $CFLAGS_PG -c "$f" -o "$o"
		compiled=$((compiled + 1))
	fi
done
log "C layer: $compiled file(s) compiled"
# our C code stays in PostgreSQL's layout: pgindent from the same tree (half a second)
"$scripts/check-format.sh" "$tree"

# ---- link one shared library ----
lib="$work/libpgembed.so"
objlist="$work/backend-objects.txt"
if [[ ! -f $objlist || $tree/.done -nt $objlist ]]; then
	(cd "$src" && cat $(find src/backend -name objfiles.txt) | tr ' ' '\n' | grep -v '^$' \
		| grep -v '^src/backend/main/main.o$' | sort -u | sed "s|^|$src/|") > "$objlist"
	objcopy --redefine-sym main=postgres_main "$src/src/backend/main/main.o" "$work/main.o"
fi
# the symbols to wrap: every __wrap_<name> our objects define (the engine's wrappers)
wraps=$(nm --defined-only "$obj"/*.o | awk '$2 == "T" && $3 ~ /^__wrap_./ { print substr($3, 8) }' | sort -u)
[[ -n $wraps ]] || { echo "[pgembed] no __wrap_ routine defined in $obj" >&2; exit 1; }
wrapflags=$(printf -- '-Wl,--wrap=%s ' $wraps)
# Calls to functions the library defines bind to the library itself, not through a PLT stub:
# every copy (the front, each engine in its namespace) resolved them to itself anyway, and
# nothing outside interposes PostgreSQL's functions (modules call into their engine's copy;
# the --wrap targets are the C library's). Data keeps its default binding.
bindflags="-Wl,-Bsymbolic-functions"
linkflags="$wrapflags $bindflags"
need_link=0
[[ -f $lib ]] || need_link=1
[[ "$(cat "$work/link.flags" 2>/dev/null)" == "$linkflags" ]] || need_link=1
for o in "$obj"/*.o "$objlist"; do [[ $o -nt $lib ]] && need_link=1; done
if [[ $need_link -eq 1 ]]; then
	gcc -shared -o "$lib.tmp" $(cat "$objlist") "$work/main.o" \
		"$src/src/timezone/localtime.o" "$src/src/timezone/pgtz.o" "$src/src/timezone/strftime.o" \
		"$obj"/*.o \
		-Wl,--whole-archive "$src/src/common/libpgcommon_srv.a" "$src/src/port/libpgport_srv.a" -Wl,--no-whole-archive \
		$linkflags -Wl,--no-undefined -Wl,-soname,libpgembed.so -Wl,-z,noexecstack -lm -ldl -lpthread
	mv "$lib.tmp" "$lib"
	echo "$linkflags" > "$work/link.flags"
	log "linked $(du -h "$lib" | cut -f1) libpgembed.so"
fi

# ---- template cluster (cached with the tree) ----
template="$tree/template-$(sha256sum "$scripts/make-template.sh" | cut -c1-12)"
if [[ ! -f $template/PG_VERSION ]]; then
	"$scripts/make-template.sh" "$stage" "$template"
	log "template cluster created"
fi

# ---- payload (re-staged only when an input changed) ----
stamp="$work/payload.stamp"
inputs="$(stat -c '%n %Y %s' "$lib" "$tree/.done" "$template/PG_VERSION" "$scripts/stage-payload.sh") $(cat "$tree/pgvector.done" 2>/dev/null || echo no-pgvector)"
if [[ -f $stamp && -f $payload/$platform/pgembed.manifest && "$(cat "$stamp")" == "$inputs" ]]; then
	log "payload up to date in $payload/$platform"
else
	"$scripts/stage-payload.sh" "$lib" "$stage" "$template" "$src" "$payload/$platform"
	echo "$inputs" > "$stamp"
	log "payload staged in $payload/$platform"
fi
