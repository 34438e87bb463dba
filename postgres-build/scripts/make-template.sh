#!/usr/bin/env bash
# Creates the template cluster that new databases are copied from.
# Usage: make-template.sh <stage> <template-dir>
set -euo pipefail
stage=$1 template=$2
rm -rf "$template" "$template.tmp"
# initdb refuses to run as root: run it as an unprivileged user from a world-readable copy
work=$(mktemp -d /tmp/pgembed-initdb.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a "$stage" "$work/stage"
mkdir "$work/data"
run=()
if [[ $(id -u) -eq 0 ]]; then
	chmod 755 "$work"
	chown nobody:nogroup "$work/data"
	run=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
# UTF8 with the builtin C.UTF-8 provider. PostgreSQL's own 16 MB WAL segments: one large
# transaction switches segments (a new file, its fsyncs) 16 times less often than with 1 MB
# ones; a new cluster's copy of the first segment stays sparse (front_cluster.c).
"${run[@]}" "$work/stage/bin/initdb" -D "$work/data" -U postgres -E UTF8 \
	--locale-provider=builtin --builtin-locale=C.UTF-8 --locale=C \
	--data-checksums --wal-segsize=16 --auth=trust --no-sync >"$work/initdb.log" 2>&1 \
	|| { cat "$work/initdb.log" >&2; exit 1; }
# user objects get OIDs from FirstNormalObjectId, as after a server's first start
# (a standalone backend would otherwise hand out OIDs below 16384)
"${run[@]}" "$work/stage/bin/pg_resetwal" -o 16384 "$work/data" >"$work/resetwal.log" 2>&1 \
	|| { cat "$work/resetwal.log" >&2; exit 1; }
# nothing specific to the build machine: time zones are set when a database opens
sed -i -E '/^(timezone|log_timezone)[[:space:]]*=/d' "$work/data/postgresql.conf"
# Only the settings: every open parses this file, and lexing the sample's 800 lines of
# comments cost a fifth of opening a database.
conf="$work/data/postgresql.conf"
{
	echo "# The settings initdb chose; share/postgresql/postgresql.conf.sample documents them all."
	grep -Ev '^[[:space:]]*(#|$)|^(max|min)_wal_size|^wal_buffers' "$conf"
	# a checkpoint every 32 MB of WAL, as with the 1 MB segments before: PostgreSQL checkpoints
	# after (max_wal_size / segment size / (1 + checkpoint_completion_target)) - 1 segments, so
	# 96 MB of 16 MB segments gives 2 (64 MB gave 1: twice as many checkpoints); two segments
	# kept, and 1 MB of WAL buffers (PostgreSQL sizes them to a segment at most; every open zeroes them)
	echo "max_wal_size = 96MB"
	echo "min_wal_size = 32MB"
	echo "wal_buffers = 1MB"
} >"$conf.new"
mv "$conf.new" "$conf"
# The relation cache's init files (global/ and base/5/pg_internal.init), which an engine keeps
# across clean restarts (engine_relcache.c): a single-user session builds and writes them, and
# records which build did, so that the first open of a new database does not rebuild them.
echo "COPY (SELECT pg_catalog.version()) TO '$work/data/pgembed.relcache';" \
	| "${run[@]}" "$work/stage/bin/postgres" --single -D "$work/data" postgres >"$work/single.log" 2>&1 \
	|| { cat "$work/single.log" >&2; exit 1; }
for f in global/pg_internal.init base/5/pg_internal.init pgembed.relcache; do
	[[ -s $work/data/$f ]] || { echo "[pgembed] the template's $f was not written" >&2; cat "$work/single.log" >&2; exit 1; }
done
# Every new cluster copies postgres and the shared catalogs: without their free space maps and
# visibility maps (74 of 370 files), which PostgreSQL builds again when it needs them, as for any
# new table (template0 and template1, copied only on demand, keep theirs).
rm -f "$work"/data/base/5/*_fsm "$work"/data/base/5/*_vm "$work"/data/global/*_fsm "$work"/data/global/*_vm
cp -a "$work/data" "$template.tmp"
chown -R "$(id -u):$(id -g)" "$template.tmp"
chmod 700 "$template.tmp"
mv "$template.tmp" "$template"
