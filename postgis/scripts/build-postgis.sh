#!/usr/bin/env bash
# Builds PostGIS (postgis, postgis_topology) with PGXS against the PostgreSQL tree of
# postgres-build and lays out the add-on payload of the pgembed-postgis artifact:
#   <out>/linux-x86_64/pgembed-addon.manifest      what NativeLoader adds to the base payload
#   <out>/linux-x86_64/lib/postgresql/postgis-3.so, postgis_topology-3.so
#   <out>/linux-x86_64/lib/libgeos_c.so.1, libproj.so.25, ...   every library they need but glibc
#   <out>/linux-x86_64/share/postgresql/extension/postgis*.control, postgis*--3.6.4.sql, ...
#   <out>/linux-x86_64/share/proj/proj.db, proj.ini, ...          PROJ's data (no grids)
#   <out>/linux-x86_64/share/licenses/...                         the bundled libraries' copyrights
#
# Usage: build-postgis.sh <postgres-build-module-dir> <out-dir>
#
# The PostgreSQL tree is the one postgres-build compiled (its target/native/pg-tree.path);
# PostGIS's objects are cached in that tree ($tree/postgis-<version>, $tree/postgis.done) and
# installed into $tree/postgis-install, never into the tree's stage: the base payload is laid
# out from the stage and must not depend on PostGIS.
#
# The source is Debian's orig tarball of postgis 3.6.4+dfsg-2 (Debian removed nothing we
# build from it), checksum-verified through fetch-source.sh: $PGEMBED_POSTGIS_TARBALL ->
# cache -> `apt-get source --download-only postgis=3.6.4+dfsg-2` (the archive serves the
# orig tarball although the .dsc answers 404).
set -euo pipefail

pgbuild=$(cd "${1:?usage: build-postgis.sh <postgres-build-module-dir> <out-dir>}" && pwd)
out=${2:?usage: build-postgis.sh <postgres-build-module-dir> <out-dir>}
scripts=$(cd "$(dirname "$0")" && pwd)
start=$SECONDS
log() { echo "[pgembed] postgis: $* ($(( SECONDS - start )) s)" >&2; }
die() { echo "[pgembed] postgis: $*" >&2; exit 1; }

POSTGIS_VERSION=3.6.4
POSTGIS_SHA256=fb68cdc54bae26fc0618a75d0f45f0cb05f7dddadf8ef7a15290b8066c9485a6
platform=linux-$(uname -m)

pathfile="$pgbuild/target/native/pg-tree.path"
[[ -f $pathfile ]] || die "no $pathfile: build postgres-build first (mvn -Ppostgis install builds both)"
tree=$(cat "$pathfile")
pg_config="$tree/stage/bin/pg_config"
[[ -f $tree/.done && -x $pg_config ]] || die "no complete PostgreSQL tree at $tree"

"$scripts/install-postgis-deps.sh"

# ---- compile (cached in the tree) ----
src="$tree/postgis-$POSTGIS_VERSION"
dest="$tree/postgis-install"
done_file="$tree/postgis.done"
buildlog="$tree/postgis-build.log"
# raster needs GDAL (a hundred more libraries); sfcgal needs CGAL; the address standardizer
# needs PCRE and the tiger geocoder builds on it: left out (README, "PostGIS")
configure_args=(--without-raster --without-sfcgal --without-address-standardizer --without-gui
	--without-phony-revision --without-interrupt-tests --disable-extension-upgrades-install)
# PostGIS's default flags without -g; no -march: the objects must run on any x86-64
cflags="-O2 -fno-math-errno -fno-signed-zeros"
# what the compiled objects depend on (not this whole script: laying out the payload is cheap)
stamp="postgis $POSTGIS_VERSION $POSTGIS_SHA256 ${configure_args[*]} CFLAGS=$cflags"
if [[ -f $done_file && "$(cat "$done_file")" == "$stamp" ]]; then
	log "$POSTGIS_VERSION up to date in $tree"
else
	rm -f "$done_file"
	tarball=$("$scripts/../../postgres-build/scripts/fetch-source.sh" postgis "$POSTGIS_VERSION" "$POSTGIS_SHA256" \
		"postgis-$POSTGIS_VERSION.tar.xz" "" postgis "postgis_$POSTGIS_VERSION+dfsg.orig.tar.xz")
	rm -rf "$src" "$dest"
	mkdir -p "$src"
	log "unpacking $(basename "$tarball")"
	tar xJf "$tarball" -C "$src" --strip-components=1 || die "cannot unpack $tarball"
	[[ -f $src/configure && -f $src/LICENSE.TXT ]] || die "$tarball is not a PostGIS source archive"
	log "configuring against $pg_config"
	(cd "$src" && CFLAGS="$cflags" ./configure --with-pgconfig="$pg_config" "${configure_args[@]}") \
		>"$buildlog" 2>&1 || { tail -40 "$buildlog" >&2; die "configure failed (full log: $buildlog)"; }
	log "compiling (make -j$(nproc))"
	make -C "$src" -j"$(nproc)" -s >>"$buildlog" 2>&1 \
		|| { tail -40 "$buildlog" >&2; die "compilation failed (full log: $buildlog)"; }
	log "installing into $dest"
	for d in postgis topology extensions/postgis extensions/postgis_topology; do
		make -C "$src/$d" -s DESTDIR="$dest" install >>"$buildlog" 2>&1 \
			|| { tail -40 "$buildlog" >&2; die "make install in $d failed (full log: $buildlog)"; }
	done
	echo "$stamp" > "$done_file"
	log "$POSTGIS_VERSION built"
fi

# ---- lay out the add-on payload ----
inst_lib="$dest$("$pg_config" --pkglibdir)"
inst_ext="$dest$("$pg_config" --sharedir)/extension"
major=${POSTGIS_VERSION%%.*}
root="$out/$platform"
rm -rf "$root.tmp"
mkdir -p "$root.tmp/lib/postgresql" "$root.tmp/share/postgresql/extension" "$root.tmp/share/proj" \
	"$root.tmp/share/licenses"
for m in postgis-$major postgis_topology-$major; do
	[[ -f $inst_lib/$m.so ]] || die "make install produced no $inst_lib/$m.so"
	cp "$inst_lib/$m.so" "$root.tmp/lib/postgresql/"
done
for e in postgis postgis_topology; do
	cp "$inst_ext/$e.control" "$inst_ext/$e--$POSTGIS_VERSION.sql" "$root.tmp/share/postgresql/extension/"
done
cp "$src/LICENSE.TXT" "$root.tmp/share/licenses/postgis.LICENSE.TXT"
cp "$src/COPYING" "$root.tmp/share/licenses/postgis.COPYING"

# glibc's own libraries stay the system's; every other library the modules need, directly or
# not, is bundled under lib/ (resolved here as the dynamic loader resolves it on this machine)
glibc='libc|libm|libdl|libpthread|librt|libresolv|ld-linux-x86-64|ld-linux-aarch64'
deps=$(ldd "$root.tmp"/lib/postgresql/*.so | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u \
	| grep -v -E "^($glibc)\.so" || true)
while read -r soname path; do
	[[ -n $soname ]] || continue
	cp -L "$path" "$root.tmp/lib/$soname"
	chmod 644 "$root.tmp/lib/$soname"
	patchelf --set-rpath '$ORIGIN' "$root.tmp/lib/$soname"
	# each library's Debian copyright (the package that ships it)
	pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1 || true)
	[[ -n $pkg && -f /usr/share/doc/$pkg/copyright ]] && cp "/usr/share/doc/$pkg/copyright" "$root.tmp/share/licenses/$pkg.copyright"
done <<<"$deps"
for m in "$root.tmp"/lib/postgresql/*.so; do
	# bound to the engine's own copy of libpgembed.so, as every module (stage-payload.sh).
	# RUNPATH $ORIGIN/../../lib, not $ORIGIN/..: PROJ finds its data in ../share/proj beside
	# the directory libproj was loaded from, and takes that directory's name as written
	# (a trailing ".." would make it lib/postgresql/share/proj)
	patchelf --add-needed libpgembed.so "$m"
	patchelf --set-rpath '$ORIGIN/../../lib' "$m"
done

# PROJ's data: proj.db and the small definition files; the datum grids (15 MB) are left out
# (transformations that need one fall back to a ballpark, as with PROJ's network off)
projdata=$(pkg-config --variable=datadir proj 2>/dev/null || echo /usr/share/proj)
[[ -f $projdata/proj.db ]] || projdata=/usr/share/proj
[[ -f $projdata/proj.db ]] || die "no proj.db in $projdata (package proj-data)"
find "$projdata" -maxdepth 1 -type f ! -name '*.gsb' ! -name '*.gtx' ! -name '*.tif' -exec cp {} "$root.tmp/share/proj/" \;

# glibc only: every library names only glibc's, the bundled ones, or libpgembed.so
for f in "$root.tmp"/lib/*.so* "$root.tmp"/lib/postgresql/*.so; do
	for needed in $(readelf -d "$f" | awk '/NEEDED/ {gsub(/[\[\]]/, "", $5); print $5}' \
			| grep -v -E "^($glibc|libpgembed)\.so" || true); do
		[[ -f $root.tmp/lib/$needed ]] || die "$(basename "$f") needs $needed, which is neither glibc nor bundled"
	done
done
min_glibc=$(for f in "$root.tmp"/lib/*.so* "$root.tmp"/lib/postgresql/*.so; do
	objdump -T "$f" | grep -o 'GLIBC_[0-9.]*' || true; done | sed 's/GLIBC_//' | sort -V | tail -1)

{
	echo "pgembed-addon 1"
	echo "name postgis $POSTGIS_VERSION"
	echo "min-glibc $min_glibc"
	(cd "$root.tmp" && find . -mindepth 1 -type d | sed 's|^\./||' | LC_ALL=C sort | sed 's/^/dir /')
	(cd "$root.tmp" && find . -type f ! -name pgembed-addon.manifest | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
		echo "file $(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f") $f"
	done)
} > "$root.tmp/pgembed-addon.manifest"
rm -rf "$root"
mv "$root.tmp" "$root"
log "payload in $root: $(du -sh "$root" | cut -f1), $(grep -c '^file ' "$root/pgembed-addon.manifest") files"
