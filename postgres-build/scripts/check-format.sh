#!/usr/bin/env bash
# Keeps our C code in PostgreSQL's layout with PostgreSQL's own pgindent. The pg_bsd_indent
# it drives is built (in seconds, once) from the checksum-verified PostgreSQL tree that
# build-postgres.sh compiled, so pgindent, pg_bsd_indent and typedefs.list all come from the
# PostgreSQL version we embed.
#
# Usage: check-format.sh [--fix] [<pg-tree-dir>]
#   checks every C file under postgres-build/src and examples/c; without --fix it prints the
#   differences and the command that removes them, and fails; with --fix it rewrites the files.
#   <pg-tree-dir>: the tree of build-native.sh (default: the one the last build recorded in
#                  target/native/pg-tree.path)
# Typedefs: PostgreSQL's typedefs.list, those our own sources define (found here, so that no
# list of them is kept by hand), and typedefs.list beside this script (types of the system
# headers that PostgreSQL's list lacks).
set -euo pipefail

module=$(cd "$(dirname "$0")/.." && pwd)
scripts="$module/scripts"
fix=0
if [[ ${1:-} == --fix ]]; then
	fix=1
	shift
fi
tree=${1:-}
if [[ -z $tree ]]; then
	recorded="$module/target/native/pg-tree.path"
	[[ -f $recorded ]] || { echo "[pgembed] no PostgreSQL tree known yet: build postgres-build once, or name the tree" >&2; exit 1; }
	tree=$(cat "$recorded")
fi
src="$tree/src"
indent="$src/src/tools/pg_bsd_indent/pg_bsd_indent"
if [[ ! -x $indent ]]; then
	make -s -C "$src/src/tools/pg_bsd_indent" >&2
fi

files=()
while IFS= read -r -d '' f; do
	files+=("$f")
done < <(find "$module/src" "$(cd "$module/../examples/c" && pwd)" -type f -name '*.[ch]' -print0 | sort -z)

# typedefs our sources define: "typedef ... name;", "typedef ... (*name) (...);" and
# "typedef struct/enum/union ... {" closed by "} name;" at the start of a line
ours=$(awk '
	/^typedef/ && /;[ \t]*$/ && !/\{/ {
		line = $0
		if (match(line, /\(\*[A-Za-z_0-9]+\)/))
			print substr(line, RSTART + 2, RLENGTH - 3)
		else
		{
			sub(/;[ \t]*$/, "", line)
			n = split(line, w, /[ \t*]+/)
			print w[n]
		}
		next
	}
	/^typedef/ { open_typedef = 1; next }
	open_typedef && /^}/ {
		line = $0
		sub(/^}[ \t]*/, "", line)
		sub(/[ \t]*;.*/, "", line)
		print line
		open_typedef = 0
	}' "${files[@]}" | sort -u)
system=$(sed 's/#.*//' "$scripts/typedefs.list")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# pgindent leaves its temporary files in the working directory
cd "$tmp"
pgindent=(perl "$src/src/tools/pgindent/pgindent" --indent="$indent"
	--typedefs="$src/src/tools/pgindent/typedefs.list" --list-of-typedefs="$(echo $ours $system)")
fix_command="$scripts/check-format.sh --fix $tree"

if [[ $fix -eq 1 ]]; then
	"${pgindent[@]}" "${files[@]}"
	exit 0
fi
rc=0
"${pgindent[@]}" --check --diff "${files[@]}" >"$tmp/diff" || rc=$?
case $rc in
	0) ;;
	2)
		cat "$tmp/diff"
		echo "[pgembed] C files above are not in PostgreSQL's layout (pgindent); fix them with:" >&2
		echo "    $fix_command" >&2
		exit 1
		;;
	*)
		cat "$tmp/diff"
		echo "[pgembed] pgindent could not read a C file (messages above; pg_bsd_indent takes no" >&2
		echo "compound literal, for one): rewrite that construct, then run  $fix_command" >&2
		exit 1
		;;
esac
