#!/bin/sh
# plain-only: reads the sources' #include lines, never runs krbwatch.
# The floors of docs/ARCHITECTURE.md, kept true: every #include "..." of a source file names a
# file on its own floor or a lower one, and the rooms (x.c with x.h) include each other without
# a circle.  The floor of a file is the first pattern of FLOORS its path matches.
. "$(dirname "$0")/lib.sh"
cd "$KW_TOP" || exit 1

# floor  pattern (a shell glob on the path)
FLOORS='
0 lib/*
1 conf/*
2 net/*
3 probes/*
4 daemon/*
'

floor_of() {
	printf '%s\n' "$FLOORS" | while read -r f pat; do
		[ -n "$f" ] || continue
		case $1 in $pat) echo "$f"; return ;; esac
	done
}
room_of() { printf '%s\n' "${1%.[ch]}"; }

srcs=$(ls lib/*.[ch] conf/*.[ch] net/*.[ch] probes/*.[ch] daemon/*.[ch] 2>/dev/null)
edges=$KW_TMP/edges
: >"$edges"
up=0
unknown=0
for f in $srcs; do
	ff=$(floor_of "$f")
	if [ -z "$ff" ]; then not_ok "$f has a floor"; unknown=$((unknown + 1)); continue; fi
	dir=$(dirname "$f")
	for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		t=$(cd "$dir" && realpath -m --relative-to="$KW_TOP" "$inc")
		tf=$(floor_of "$t")
		if [ -z "$tf" ]; then not_ok "$f includes $inc, which has no floor"; unknown=$((unknown + 1)); continue; fi
		if [ "$tf" -gt "$ff" ]; then
			not_ok "$f (floor $ff) includes $t (floor $tf): an upward include"
			up=$((up + 1))
		fi
		# a header without its .c (probe.h, config_int.h, login_impl.h) is an interface:
		# its types come from below it; it is a leaf of the room graph
		case $f in *.h) [ -f "${f%.h}.c" ] || continue ;; esac
		[ "$(room_of "$f")" = "$(room_of "$t")" ] || echo "$(room_of "$f") $(room_of "$t")" >>"$edges"
	done
done
check_eq "no upward include" 0 "$up"
check_eq "every file has a floor" 0 "$unknown"

# circles between rooms: tsort reports every cycle it breaks
sort -u "$edges" >"$edges.u"
tsort "$edges.u" >/dev/null 2>"$KW_TMP/tsort.err"
found=$(sed -n 's/^tsort: //p' "$KW_TMP/tsort.err" | grep -v 'input contains a loop' | sort -u)
for r in $found; do
	not_ok "a circle between rooms runs through $r"
done
check_eq "no circle between rooms" 0 "$(printf '%s\n' "$found" | grep -c .)"
echo "# figure: include edges between rooms: $(wc -l <"$edges.u"), circles: $(printf '%s\n' "$found" | grep -c .)"
