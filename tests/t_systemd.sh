#!/bin/sh
# plain-only: checks the unit file, `make install`, the packaging files and --check-config as a
# non-root user; never starts the krbwatch daemon.  (t_systemd_boot.sh runs it under systemd.)
# The unit passes `systemd-analyze verify` with nothing on stderr, its exposure is at most 1.5,
# and `make install` puts every file where the unit and the man pages say.
. "$(dirname "$0")/lib.sh"

# The unit as installed, pointing at the binary under test; man pages found through MANPATH.
sed -e "s|@BINDIR@|$(dirname "$KW_BIN")|g" -e "s|@SYSCONFDIR@|/etc|g" \
	"$KW_TOP/systemd/krbwatch.service" >"$KW_TMP/krbwatch.service"
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
u=$KW_TMP/krbwatch.service
check_eq "ExecReload waits for the daemon's verdict (krbwatch --reload \$MAINPID), nothing else" \
	"ExecReload=$(dirname "$KW_BIN")/krbwatch --reload \$MAINPID" "$(grep '^ExecReload=' "$u")"
check "the static user: User=krbwatch Group=krbwatch, no DynamicUser=" sh -c \
	"grep -qx 'User=krbwatch' '$u' && grep -qx 'Group=krbwatch' '$u' && ! grep -q '^DynamicUser=' '$u'"
check "no ConfigurationDirectory= (the package owns /etc/krbwatch) and no LoadCredential=" sh -c \
	"! grep -q -e '^ConfigurationDirectory' -e '^LoadCredential' '$u'"
check "StateDirectory=krbwatch (0700) and RuntimeDirectory=krbwatch (the reload verdict)" sh -c \
	"grep -qx 'StateDirectory=krbwatch' '$u' && grep -qx 'StateDirectoryMode=0700' '$u' &&
	 grep -qx 'RuntimeDirectory=krbwatch' '$u'"
check "LimitCORE=0" grep -qx 'LimitCORE=0' "$u"
check "skipped, not failed, before a keytab exists" grep -qx \
	'ConditionPathExists=/etc/krbwatch/krbmon.keytab' "$u"
check "every path the unit names is the installed one (no @VAR@ left)" sh -c "! grep -q '@[A-Z]*@' '$u'"
check_eq "the sysusers snippet creates the static user krbwatch" "u krbwatch" \
	"$(grep -v '^#' "$KW_TOP/systemd/krbwatch.sysusers" | awk '{ print $1, $2 }')"

dest=$KW_TMP/dest
make -s -C "$KW_TOP" install DESTDIR="$dest" PREFIX=/usr >"$KW_TMP/install.log" 2>&1
check_eq "make install DESTDIR=... PREFIX=/usr: exit 0" "0" "$?"
for f in usr/sbin/krbwatch usr/share/man/man8/krbwatch.8 usr/share/man/man5/krbwatch.yml.5 \
	lib/systemd/system/krbwatch.service etc/krbwatch/krbwatch.yml.example \
	usr/lib/sysusers.d/krbwatch.conf usr/share/krbwatch/krbwatch.rules.yml \
	usr/share/krbwatch/krbwatch.rules.test.yml usr/share/krbwatch/krbwatch-dashboard.json; do
	check "make install puts /$f" [ -f "$dest/$f" ]
done
# Any other prefix keeps the unit under it: /lib/systemd/system is the distribution's.
local_dest=$KW_TMP/local
make -s -C "$KW_TOP" install DESTDIR="$local_dest" PREFIX=/usr/local >"$KW_TMP/install-local.log" 2>&1
check_eq "make install PREFIX=/usr/local: exit 0" "0" "$?"
check "... the unit goes to /usr/local/lib/systemd/system" \
	[ -f "$local_dest/usr/local/lib/systemd/system/krbwatch.service" ]
check_eq "... nothing under /lib" "" "$(cd "$local_dest" && find lib -type f 2>/dev/null)"
check "... and the unit runs /usr/local/sbin/krbwatch" \
	grep -q '^ExecStart=/usr/local/sbin/krbwatch ' "$local_dest/usr/local/lib/systemd/system/krbwatch.service"

# Without the libraries, make says in one line how to get them (PKGS names one that is missing).
# (MAKEFLAGS and MAKELEVEL from make check would add "Entering directory" lines)
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s --no-print-directory -C "$KW_TOP" PKGS="libevent kw-no-such-library" krbwatch >"$KW_TMP/nodeps.out" 2>&1
check_eq "make without the libraries: one line" 1 "$(grep -c . "$KW_TMP/nodeps.out")"
check "... naming the missing one and the command" grep -q \
	'missing build dependencies (kw-no-such-library); install them as root with: make deps' "$KW_TMP/nodeps.out"

# The packaging files parse: the spec (rpmspec) and debian/ (dpkg-parsechangelog, the control file).
if command -v rpmspec >/dev/null; then
	check "rpmspec -P krbwatch.spec parses" sh -c "rpmspec -P '$KW_TOP/krbwatch.spec' >/dev/null"
	check_eq "the spec's version is the daemon's" "$(sed -n 's/^#define KRBWATCH_VERSION "\(.*\)"/\1/p' "$KW_TOP/lib/version.h")" \
		"$(rpmspec -q --qf '%{VERSION}\n' "$KW_TOP/krbwatch.spec" 2>/dev/null | head -n 1)"
else
	ok "rpmspec -P krbwatch.spec # SKIP rpmspec is not installed (Debian package rpm)"
fi
check_eq "debian/changelog's version is the daemon's" \
	"$(sed -n 's/^#define KRBWATCH_VERSION "\(.*\)"/\1/p' "$KW_TOP/lib/version.h")" \
	"$(cd "$KW_TOP" && dpkg-parsechangelog -S Version 2>/dev/null)"
# (libc6-dev comes with build-essential; libclang-rt-dev is the fuzzers', not the daemon's)
for p in $(grep -v '^#' "$KW_TOP/tests/deps.sh" | grep -o 'lib[a-z0-9.+-]*-dev' |
    grep -v -x -e libc6-dev -e libclang-rt-dev | sort -u); do
	check "debian/control Build-Depends names $p (tests/deps.sh)" grep -q "^ *$p,\?\$" "$KW_TOP/debian/control"
done

# --check-config as a non-root user against files root:GROUP 0640 in a root:GROUP 0750 directory,
# as the package installs them: the group (and only it) reads them.  Root reads everything, so
# only a non-root uid shows a permission defect.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	g=$(id -gn nobody 2>/dev/null || echo nogroup)
	etc=$KW_TMP/etc-krbwatch
	install -d -m 0750 -o root -g "$g" "$etc"
	install -m 0640 -o root -g "$g" "$KW_TOP/tests/conf/keytabs/ok.keytab" "$etc/krbmon.keytab"
	sed "s|keytab: ../keytabs/group.keytab.*|keytab: $etc/krbmon.keytab|" \
		"$KW_TOP/tests/conf/good/minimal.yml" >"$KW_TMP/k.yml"
	install -m 0640 -o root -g "$g" "$KW_TMP/k.yml" "$etc/krbwatch.yml"
	chmod 755 "$KW_TMP"
	as_nobody() { setpriv --reuid=nobody --regid="$g" --clear-groups "$@"; }
	as_nobody "$KW_BIN" --check-config "$etc/krbwatch.yml" >"$KW_TMP/out" 2>&1
	check_eq "--check-config as nobody:$g, files root:$g 0640: valid" "$etc/krbwatch.yml: OK" "$(cat "$KW_TMP/out")"
	# the same files without the group: what a service user outside krbwatch's group would see
	chgrp root "$etc/krbmon.keytab"
	chmod 0755 "$etc" && chmod 0644 "$etc/krbwatch.yml"
	as_nobody "$KW_BIN" --check-config "$etc/krbwatch.yml" >/dev/null 2>"$KW_TMP/err"
	check_eq "... a keytab root:root 0640 is reported with the uid" \
		"$etc/krbwatch.yml:4:11: keytab \"$etc/krbmon.keytab\" is not readable by uid $(id -u nobody): Permission denied" \
		"$(cat "$KW_TMP/err")"
else
	ok "--check-config as a non-root user # SKIP needs root and setpriv to switch to nobody"
fi
check "the installed unit runs the installed binary" \
	grep -q '^ExecStart=/usr/sbin/krbwatch ' "$dest/lib/systemd/system/krbwatch.service"
check "the man pages render without warnings" sh -c \
	"MANWIDTH=80 man --warnings -l '$KW_TOP/man/krbwatch.8' 2>&1 >/dev/null | grep -c . | grep -qx 0 &&
	 MANWIDTH=80 man --warnings -l '$KW_TOP/man/krbwatch.yml.5' 2>&1 >/dev/null | grep -c . | grep -qx 0"
