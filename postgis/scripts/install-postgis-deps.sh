#!/usr/bin/env bash
# Checks the libraries PostGIS is built against (GEOS, PROJ, json-c, libxml2, protobuf-c) and
# installs the missing Debian -dev packages with apt-get when root. Only the postgis module's
# build runs this: the base product never needs these packages.
set -euo pipefail
declare -A probe=(
	[libgeos-dev]=/usr/bin/geos-config
	[libproj-dev]=/usr/include/proj.h
	[libjson-c-dev]=/usr/include/json-c/json.h
	[libxml2-dev]=/usr/bin/xml2-config
	[libprotobuf-c-dev]=/usr/include/protobuf-c/protobuf-c.h
	[protobuf-c-compiler]=/usr/bin/protoc-c
	[pkg-config]=/usr/bin/pkg-config
)
missing=()
for p in "${!probe[@]}"; do
	[[ -e ${probe[$p]} ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
pkgs=$(printf '%s\n' "${missing[@]}" | sort | tr '\n' ' ')
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
	echo "[pgembed] installing PostGIS's build dependencies: $pkgs" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq $pkgs >&2
else
	echo "[pgembed] PostGIS needs $pkgs to build: run  sudo apt-get install -y $pkgs" >&2
	exit 1
fi
