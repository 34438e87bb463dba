#!/usr/bin/env bash
# Obtains a checksum-verified source tarball into the pgembed cache.
#
# Usage: fetch-source.sh <name> <version> <sha256> <tarball-file-name> <official-url> <debian-source-package> <debian-orig-name>
# Order of routes: $PGEMBED_<NAME>_TARBALL (explicit path) -> cache -> official URL ->
# `apt-get source --download-only` (Debian family), enabling deb-src entries derived
# from the machine's own apt sources when none exist.
# Prints the path of the verified tarball on stdout (progress goes to stderr).
set -euo pipefail

name=$1 version=$2 sha256=$3 file=$4 url=$5 debpkg=$6 debfile=$7
cache=${PGEMBED_CACHE:-$HOME/.cache/pgembed}
dest_dir="$cache/downloads"
dest="$dest_dir/$file"
mkdir -p "$dest_dir"

log() { echo "[pgembed] $*" >&2; }

verify() {
	local f=$1
	[[ -f $f ]] || return 1
	local got
	got=$(sha256sum "$f" | cut -d' ' -f1)
	if [[ $got != "$sha256" ]]; then
		log "checksum mismatch for $f: expected $sha256, got $got"
		return 2
	fi
	return 0
}

accept() {
	# $1: candidate file; copies it into the cache if it verifies, stops the build if it does not.
	local f=$1 rc=0
	verify "$f" || rc=$?
	if [[ $rc -eq 2 ]]; then
		log "refusing $f: wrong SHA-256 (see above)"
		exit 1
	fi
	[[ $rc -eq 0 ]] || return 1
	if [[ $f != "$dest" ]]; then
		cp "$f" "$dest.tmp.$$" && mv "$dest.tmp.$$" "$dest"
	fi
	echo "$dest"
	exit 0
}

# 1. explicit path
var="PGEMBED_$(echo "$name" | tr '[:lower:]-' '[:upper:]_')_TARBALL"
explicit=${!var:-}
if [[ -n $explicit ]]; then
	[[ -f $explicit ]] || { log "$var points to $explicit, which does not exist"; exit 1; }
	log "$name: using $explicit ($var)"
	accept "$explicit"
fi

# 2. cache
if [[ -f $dest ]]; then
	rc=0; verify "$dest" || rc=$?
	if [[ $rc -eq 0 ]]; then echo "$dest"; exit 0; fi
	log "cached $dest is damaged; removing it"
	rm -f "$dest"
fi

# 3. official download
if [[ -n $url ]] && command -v curl >/dev/null 2>&1; then
	log "$name: trying $url"
	if curl -fsSL --connect-timeout 10 --max-time 300 -o "$dest.part" "$url" 2>/dev/null; then
		# a download that does not match is thrown away and the next route tried
		rc=0; verify "$dest.part" || rc=$?
		if [[ $rc -eq 0 ]]; then mv "$dest.part" "$dest"; echo "$dest"; exit 0; fi
		log "$name: the file $url served does not match the pinned checksum: not using it"
	else
		log "$name: official download not reachable"
	fi
	rm -f "$dest.part"
fi

# 4. Debian source package
if [[ -n $debpkg ]] && command -v apt-get >/dev/null 2>&1; then
	sudo=""
	if [[ $(id -u) -ne 0 ]]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
			log "$name: cannot obtain the source. Download $file (SHA-256 $sha256) yourself and set $var=/path/to/$file"
			exit 1
		fi
	fi
	srclist=/etc/apt/sources.list.d/pgembed-deb-src.sources
	# the Debian revisions of this upstream version (e.g. 0.8.0-1 for 0.8.0), newest last
	debian_version() {
		apt-cache showsrc "$debpkg" 2>/dev/null | sed -n 's/^Version: //p' \
			| grep -E "^([0-9]+:)?${version//./\\.}-" | sort -V | tail -1 || true
	}
	if [[ -z $(debian_version) ]]; then
		if [[ ! -f $srclist ]]; then
			log "$name: enabling deb-src entries derived from this machine's apt sources ($srclist)"
			uris=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true;
			          grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' || true; } \
			        | grep -E 'debian.org/debian/?$|/debian/?$' | sort -u)
			[[ -n $uris ]] || { log "no Debian archive URI found in the apt sources"; exit 1; }
			{
				for u in $uris; do
					printf 'Types: deb-src\nURIs: %s\nSuites: trixie sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' "$u"
				done
			} | $sudo tee "$srclist" >/dev/null
		fi
		log "$name: apt-get update"
		$sudo apt-get update -qq >&2
	fi
	# pinned: without a version apt-get fetches whatever the newest suite has
	debver=$(debian_version)
	[[ -n $debver ]] || { log "$name: Debian's sources offer no $debpkg $version"; exit 1; }
	work=$(mktemp -d "$dest_dir/apt.XXXXXX")
	log "$name: apt-get source --download-only $debpkg=$debver"
	(cd "$work" && apt-get source --download-only -qq "$debpkg=$debver" >&2) || { rm -rf "$work"; log "apt-get source failed"; exit 1; }
	cand=$(ls "$work"/$debfile 2>/dev/null | head -1 || true)
	if [[ -n $cand ]]; then
		rc=0; verify "$cand" || rc=$?
		if [[ $rc -eq 0 ]]; then mv "$cand" "$dest"; rm -rf "$work"; echo "$dest"; exit 0; fi
		rm -rf "$work"
		log "the Debian source package did not match the expected checksum: refusing it"
		exit 1
	fi
	rm -rf "$work"
	log "apt-get source gave no $debfile"
fi

log "$name $version: no route produced the source. Download $file (SHA-256 $sha256) and set $var=/path/to/it"
exit 1
