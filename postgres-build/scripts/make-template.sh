#!/usr/bin/env bash
# Creates the template cluster that new databases are copied from.
# Usage: make-template.sh <stage> <template-dir> [<platform>]
#   <platform>  of the stage (default the host's): a cross-compiled initdb runs under the emulator
#               (platform.sh), and so does the postgres it starts, through a wrapper in its place
set -euo pipefail
stage=$1 template=$2
source "$(dirname "$0")/platform.sh" "${3:-}"
rm -rf "$template" "$template.tmp"
# initdb refuses to run as root: run it as an unprivileged user from a world-readable copy
work=$(mktemp -d /tmp/pgembed-initdb.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a "$stage" "$work/stage"
# cross-compiled: initdb and the postgres it starts by path run under the emulator, through
# wrappers (no binfmt handler is assumed)
target_wrap_stage "$work/stage"
mkdir "$work/data"
run=()
if [[ $(id -u) -eq 0 ]]; then
	chmod 755 "$work"
	chown nobody:nogroup "$work/data"
	run=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
# UTF8 with the builtin C.UTF-8 provider; small WAL segments keep copies cheap
"${run[@]}" "$work/stage/bin/initdb" -D "$work/data" -U postgres -E UTF8 \
	--locale-provider=builtin --builtin-locale=C.UTF-8 --locale=C \
	--data-checksums --wal-segsize=1 --auth=trust --no-sync >"$work/initdb.log" 2>&1 \
	|| { cat "$work/initdb.log" >&2; exit 1; }
# user objects get OIDs from FirstNormalObjectId, as after a server's first start
# (a standalone backend would otherwise hand out OIDs below 16384)
"${run[@]}" "$work/stage/bin/pg_resetwal" -o 16384 "$work/data" >"$work/resetwal.log" 2>&1 \
	|| { cat "$work/resetwal.log" >&2; exit 1; }
# nothing specific to the build machine: time zones are set when a database opens
sed -i -E '/^(timezone|log_timezone)[[:space:]]*=/d' "$work/data/postgresql.conf"
cp -a "$work/data" "$template.tmp"
chown -R "$(id -u):$(id -g)" "$template.tmp"
chmod 700 "$template.tmp"
mv "$template.tmp" "$template"
