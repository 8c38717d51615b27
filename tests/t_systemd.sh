#!/bin/sh
# plain-only: checks the unit file and `make install`, never starts krbwatch.
# The unit passes `systemd-analyze verify` with nothing on stderr, its exposure is at most 1.5,
# and `make install` puts every file where the unit and the man pages say.
. "$(dirname "$0")/lib.sh"

# The unit as installed, pointing at the binary under test; man pages found through MANPATH.
sed "s|@BINDIR@|$(dirname "$KW_BIN")|g" "$KW_TOP/systemd/krbwatch.service" >"$KW_TMP/krbwatch.service"
mkdir -p "$KW_TMP/man/man8" "$KW_TMP/man/man5"
cp "$KW_TOP/man/krbwatch.8" "$KW_TMP/man/man8/"
cp "$KW_TOP/man/krbwatch.yml.5" "$KW_TMP/man/man5/"
(cd "$KW_TMP" && MANPATH="$KW_TMP/man" systemd-analyze verify "$KW_TMP/krbwatch.service") \
	>"$KW_TMP/verify.out" 2>"$KW_TMP/verify.err"
rc=$?
check_eq "systemd-analyze verify: exit 0" "0" "$rc"
check_eq "systemd-analyze verify: empty stderr" "" "$(cat "$KW_TMP/verify.err")"

exposure=$(systemd-analyze security --offline=true "$KW_TMP/krbwatch.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for krbwatch.service: \([0-9.]*\).*/\1/p')
echo "# exposure: $exposure"
check "systemd-analyze security --offline=true: exposure $exposure <= 1.5" \
	awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 1.5) }'
check "the unit is Type=notify with a watchdog" sh -c \
	"grep -qx 'Type=notify' '$KW_TMP/krbwatch.service' && grep -q '^WatchdogSec=' '$KW_TMP/krbwatch.service'"
check "ExecReload validates before it signals" sh -c \
	"grep '^ExecReload=' '$KW_TMP/krbwatch.service' | head -1 | grep -q -- '--check-config'"

dest=$KW_TMP/dest
make -s -C "$KW_TOP" install DESTDIR="$dest" PREFIX=/usr >"$KW_TMP/install.log" 2>&1
check_eq "make install DESTDIR=... PREFIX=/usr: exit 0" "0" "$?"
for f in usr/sbin/krbwatch usr/share/man/man8/krbwatch.8 usr/share/man/man5/krbwatch.yml.5 \
	lib/systemd/system/krbwatch.service etc/krbwatch/krbwatch.yml.example; do
	check "make install puts /$f" [ -f "$dest/$f" ]
done
check "the installed unit runs the installed binary" \
	grep -q '^ExecStart=/usr/sbin/krbwatch ' "$dest/lib/systemd/system/krbwatch.service"
check "the man pages render without warnings" sh -c \
	"MANWIDTH=80 man --warnings -l '$KW_TOP/man/krbwatch.8' 2>&1 >/dev/null | grep -c . | grep -qx 0 &&
	 MANWIDTH=80 man --warnings -l '$KW_TOP/man/krbwatch.yml.5' 2>&1 >/dev/null | grep -c . | grep -qx 0"
