#!/bin/sh
# plain-only: runs the .deb's own krbwatch under a booted systemd, never $KW_BIN (nor the ASan build).
# The package installed for real.  Builds the .deb (or takes a fresh one from `make deb`), boots
# systemd 252 in a container on an overlay copy of / joined to the lab's us-east-1 client
# namespace (../shared/LAB-NOTES.md, "A real systemd"), installs the package, places keytab and
# configuration the README's way, and asserts from systemd's side: skipped before a keytab
# exists; start -> active with READY=1; STATUS= per Region; both Regions up on /metrics; a
# trust fault named in STATUS=; a good reload applied and a bad one failing the job while the
# old configuration runs (FILE:LINE:COL in the journal at priority err); state changes logged
# once; a keytab rotated by rename in use by the next probe run; no core on SIGABRT; the
# watchdog restarting a SIGSTOPped daemon (WatchdogSec=5s through a drop-in, to keep the test
# short); stop within TimeoutStopSec; exposure <= 1.5 from the real manager; upgrade, remove
# and purge.  Lab name: $KW_BOOT_NS (default tsb).  Prints "# figure:" lines for the record.
. "$(dirname "$0")/lib.sh"

skip() { echo "ok - # SKIP $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (systemd-nspawn, overlayfs, the lab's namespaces)"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn missing (Debian package systemd-container)"
command -v dpkg-buildpackage >/dev/null || skip "dpkg-buildpackage missing (dpkg-dev, debhelper)"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || skip "the kernel has no overlayfs for a copy of /"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
fig() { echo "# figure: $*"; }

# ---- the package: a fresh one from make deb in this run, else built now ----------------------
VERSION=$(sed -n 's/^#define KRBWATCH_VERSION "\(.*\)"/\1/p' "$KW_TOP/lib/version.h")
DEB=${KW_DEB:-$KW_TOP/build/deb/krbwatch_${VERSION}_amd64.deb}
if [ -z "${KW_DEB:-}" ] && { [ ! -f "$DEB" ] || [ -n "$(cd "$KW_TOP" && find Makefile README.md conf daemon \
    probes systemd debian man monitoring -newer "$DEB" -type f | head -n 1)" ]; }; then
	# a make of its own: under `make check` the outer make's jobserver is not ours to use
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$KW_TOP" deb >"$KW_TMP/deb.log" 2>&1 ||
		{ not_ok "make deb"; tail -n 20 "$KW_TMP/deb.log" | sed 's/^/#   /'; exit 1; }
fi
check "the package is there: $(basename "$DEB")" test -f "$DEB" || exit 1
fig "package size: $(stat -c %s "$DEB") bytes"
lintian "$DEB" >"$KW_TMP/lintian.out" 2>&1
check_eq "lintian: no error or warning" "" "$(grep -E '^[EW]: ' "$KW_TMP/lintian.out")"

# ---- the lab, then the container in its client namespace --------------------------------------
. "$KW_TOP/tests/lab_session.sh"
lab_session "${KW_BOOT_NS:-tsb}" 2s 1500ms

R=$KW_TMP/container
mkdir -p "$R/upper/etc/systemd/system" "$R/work" "$R/root"
# A copy of / carries the host's enabled servers; the lab runs its own, so mask them.
for u in krb5-kdc krb5-admin-server mariadb named bind9 postgresql prometheus \
    prometheus-alertmanager prometheus-blackbox-exporter e2scrub_reap; do
	ln -s /dev/null "$R/upper/etc/systemd/system/$u.service"
done
nsp="" pid1=""
container_end() {
	if [ -n "$pid1" ] && pid_alive "$pid1"; then
		nsenter -t "$pid1" -a systemctl poweroff --no-block >/dev/null 2>&1
		wait_for 30 sh -c "! kill -0 $nsp 2>/dev/null" || kill -KILL "$pid1" 2>/dev/null
	fi
	[ -n "$nsp" ] && { kill -TERM "$nsp" 2>/dev/null; wait "$nsp" 2>/dev/null; }
	mountpoint -q "$R/root" && { umount "$R/root" 2>/dev/null || umount -l "$R/root"; }
	return 0
}
at_exit container_end
mount -t overlay overlay -o "lowerdir=/,upperdir=$R/upper,workdir=$R/work" "$R/root" ||
	skip "cannot mount an overlay copy of / here"
setsid systemd-nspawn -D "$R/root" -b --register=no --keep-unit -M "kw${KW_BOOT_NS:-tsb}" \
	--network-namespace-path="/run/netns/$KW_LAB_NS_CLIENT" --console=passive \
	>"$R/nspawn.log" 2>&1 &
nsp=$!
# the container's PID 1, by its parent (nspawn forks a short-lived helper first: check the name)
first_child() { pid1=$(ps -o pid=,comm= --ppid "$nsp" | awk '$2 == "systemd" { print $1; exit }'); [ -n "$pid1" ]; }
inc() { nsenter -t "$pid1" -a "$@"; }
booted() { case $(inc systemctl is-system-running 2>/dev/null) in running|degraded) return 0 ;; esac; return 1; }
if ! wait_for 30 first_child || ! { wait_for 180 booted || ! kill -0 "$nsp" 2>/dev/null; } ||
    ! kill -0 "$nsp" 2>/dev/null; then
	# nspawn gave up: this machine cannot boot a container (no cgroups, no namespaces...)
	tail -n 5 "$R/nspawn.log" | sed 's/^/#   /'
	skip "systemd-nspawn cannot boot systemd here (its log above)"
fi
if ! booted; then
	# it runs but never finished booting: that is a failure to look at, not a skip
	not_ok "systemd boots in the container: still '$(inc systemctl is-system-running 2>&1)' after 180 s"
	inc systemctl list-jobs --no-pager 2>&1 | head -n 10 | sed 's/^/#   /'
	exit 1
fi
ok "systemd boots in a container in $KW_LAB_NS_CLIENT: $(inc systemctl is-system-running)"
# the host's policy-rc.d (tests/deps.sh) would stop the package from starting its service
inc rm -f /usr/sbin/policy-rc.d

prop() { inc systemctl show -p "$1" --value krbwatch; }
PORT=${KW_LAB_LISTEN##*:}
scrape_c() { inc curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$KW_TMP/m.new" && mv "$KW_TMP/m.new" "$KW_TMP/m"; }
val() { awk -v s="$1" 'index($0, s " ") == 1 { print $2 }' "$KW_TMP/m"; }
up() { scrape_c && [ "$(val "krbwatch_region_auth_up{aws_region=\"$1\"}")" = 1 ]; }
both_up() { up "$E" && up "$W"; }
status_is() { [ "$(prop StatusText)" = "$1" ]; }
journal() { inc journalctl -q -u krbwatch --no-pager -o cat "$@"; }
active() { [ "$(prop ActiveState)/$(prop SubState)" = active/running ]; }
# never "kill 0": with no MainPID that would signal this test's own process group
sig() { case $2 in ''|0|1|*[!0-9]*) not_ok "no process to send SIG$1 to (MainPID '$2')"; return 1 ;; esac
	inc kill -"$1" "$2"; }

# ---- install: enabled, skipped until there is a keytab ---------------------------------------
cp "$DEB" "$R/root/root/krbwatch.deb"
inc dpkg -i /root/krbwatch.deb >"$KW_TMP/dpkg.log" 2>&1
check "dpkg -i: exit 0" [ $? -eq 0 ] || sed 's/^/#   /' "$KW_TMP/dpkg.log"
check_eq "the unit is enabled on install" enabled "$(inc systemctl is-enabled krbwatch)"
check_eq "/etc/krbwatch is root:krbwatch 0750" "root:krbwatch 750" "$(inc stat -c '%U:%G %a' /etc/krbwatch)"
check_eq "the krbwatch user is a system user with no shell" "/usr/sbin/nologin" \
	"$(inc getent passwd krbwatch | cut -d: -f7)"
inc systemctl start krbwatch
unmet() { inc systemctl status krbwatch --no-pager 2>&1 |
	grep -q 'ConditionPathExists=/etc/krbwatch/krbmon.keytab was not met'; }
check "without a keytab: systemctl status says the condition is unmet" unmet
check_eq "... and the unit is not failed" inactive "$(inc systemctl is-active krbwatch)"

# ---- keytab and configuration, the README's way ----------------------------------------------
# the lab's configuration with the package's paths (a CA the lab made stands in for the RDS one)
sed -e "s|^  keytab: .*|  keytab: /etc/krbwatch/krbmon.keytab|" \
    -e "s|ca: $KW_LAB_CA|ca: /etc/krbwatch/lab-ca.pem|g" "$CONF" >"$KW_TMP/pkg.yml"
inc sh -c 'cat >/root/krbmon.keytab' <"$KW_LAB_KEYTAB"
inc sh -c 'cat >/root/lab-ca.pem' <"$KW_LAB_CA"
inc sh -c 'cat >/etc/krbwatch/krbwatch.yml' <"$KW_TMP/pkg.yml"
inc install -m 0640 -o root -g krbwatch /root/krbmon.keytab /etc/krbwatch/krbmon.keytab
inc install -m 0644 /root/lab-ca.pem /etc/krbwatch/lab-ca.pem
check "krbwatch --check-config as the krbwatch user reads every file (root:krbwatch 0640 keytab)" \
	inc setpriv --reuid=krbwatch --regid=krbwatch --init-groups \
	    krbwatch --check-config /etc/krbwatch/krbwatch.yml

# ---- start: READY=1, STATUS=, both Regions up ----------------------------------------------
t0=$(now_ms)
inc systemctl start krbwatch
rc=$? t1=$(now_ms)
check_eq "systemctl start: exit 0 (Type=notify: returns once READY=1 came)" 0 "$rc"
fig "start to READY=1: $((t1 - t0)) ms (systemctl start, READY=1 once the listener is bound)"
check "active (running)" active
status_has() { prop StatusText | grep -q "$1"; }
check "READY=1 brought STATUS= with both Regions" status_has "^$E: .*; $W: "
check "both Regions: krbwatch_region_auth_up 1 on /metrics" wait_for 90 both_up
check "systemctl status shows the per-Region STATUS= line" wait_for 30 status_is "$E: ok; $W: ok"
inc systemctl status krbwatch --no-pager >"$KW_TMP/status" 2>&1
check "... in systemctl status" grep -q "Status: \"$E: ok; $W: ok\"" "$KW_TMP/status"
# (a ConfigurationDirectory= whose mode differs from the package's 0750 used to say so on every start)
quiet_unit() { ! inc journalctl -q -b --no-pager -o cat | grep -e 'krbwatch' |
	grep -q -i -e 'mode is different' -e 'unknown key' -e 'ignoring' -e 'deprecated'; }
check "systemd has nothing to say about the unit (no directory mode, unknown or ignored setting)" quiet_unit
pid=$(prop MainPID)
check_eq "the daemon runs as krbwatch" krbwatch "$(inc ps -o user= -p "$pid")"
check_eq "LimitCORE=0 as systemd set it on the process" "0 0" \
	"$(inc awk '/^Max core file size/ { print $5, $6 }' "/proc/$pid/limits")"
# the files under /proc/PID of a process that cleared its dumpable flag are root's, not its user's
check_eq "the process is not dumpable (its /proc/PID/status is root's)" root "$(inc stat -c %U "/proc/$pid/status")"

# ---- a trust fault in one Region, named in STATUS= -----------------------------------------
"$LAB" fault trust-broken "$W" >>"$LOG" 2>&1
wbad() { prop StatusText | grep -q "^$E: ok; $W: .*failing (trust_key)"; }
check "trust broken in $W: STATUS= names $W (trust_key), $E stays ok" wait_for 60 wbad ||
	echo "#   StatusText: $(prop StatusText)"
runs_w() { scrape_c; val "krbwatch_probe_runs_total{aws_region=\"$W\",probe=\"chain\"}"; }
n0=$(runs_w)
w_ran3() { [ "$(runs_w)" -ge $((n0 + 3)) ]; }
wait_for 60 w_ran3
check_eq "the failure is logged once (priority warning), not every run" 1 \
	"$(journal -p warning..warning | grep -c "^$W chain: failing (trust_key)")" ||
	journal | grep 'failing' | sed 's/^/#   /' 
"$LAB" heal >>"$LOG" 2>&1
check "healed: both Regions ok again" wait_for 60 status_is "$E: ok; $W: ok"
check_eq "the recovery is logged once (priority notice)" 1 \
	"$(journal -p notice..notice | grep -c "^$W chain: ok again")"

# ---- reload: a good edit applies, a bad one fails the job and keeps the old configuration ---
P2=$((PORT + 1))
sed "s|^listen: .*|listen: 127.0.0.1:$P2|" "$KW_TMP/pkg.yml" >"$KW_TMP/good.yml"
inc sh -c 'cat >/etc/krbwatch/krbwatch.yml' <"$KW_TMP/good.yml"
inc systemctl reload krbwatch
check_eq "good edit: systemctl reload exits 0" 0 "$?"
# a RELOADING=1 without its READY=1 would leave the unit in SubState=reload
same_running() { [ "$(prop SubState)" = running ] && [ "$(prop MainPID)" = "$pid" ]; }
check "... RELOADING=1 then READY=1: active (running) again, same process" same_running
PORT=$P2
check "... applied: /metrics answers on the new listen address" scrape_c
check_eq "... krbwatch_config_last_reload_success 1" 1 "$(val krbwatch_config_last_reload_success)"
jgrep() { journal | grep -q -e "$1"; }
check "... systemd logged the reload" jgrep '^Reloaded krbwatch'

{ cat "$KW_TMP/good.yml"; echo "intervall: 5s"; } >"$KW_TMP/bad.yml"
badline=$(wc -l <"$KW_TMP/bad.yml")
inc sh -c 'cat >/etc/krbwatch/krbwatch.yml' <"$KW_TMP/bad.yml"
inc systemctl reload krbwatch 2>"$KW_TMP/reload.err"
check_eq "bad edit: systemctl reload fails" 1 "$?"
check "... the daemon keeps running (same process, active)" same_running
check "... with the old configuration (still listening on :$PORT)" scrape_c
check_eq "... krbwatch_config_last_reload_success 0 (KrbwatchConfigReloadFailed can fire)" 0 \
	"$(val krbwatch_config_last_reload_success)"
err_line() { journal -p err..err | grep -q "^/etc/krbwatch/krbwatch.yml:$badline:1: unknown key \"intervall\""; }
check "... the journal holds FILE:LINE:COL at priority err" err_line
check "... and so does the reload job's own line (ExecReload=krbwatch --reload)" \
	jgrep '^krbwatch --reload: the configuration was rejected' 
check "... STATUS= says the reload failed" status_has '^reload failed, kept'
inc sh -c 'cat >/etc/krbwatch/krbwatch.yml' <"$KW_TMP/good.yml"
inc systemctl reload krbwatch
check_eq "the file fixed: reload exits 0" 0 "$?"
check "... and STATUS= no longer says the reload failed" wait_for 30 status_is "$E: ok; $W: ok"
scrape_c
check_eq "... krbwatch_config_last_reload_success is 1 again" 1 "$(val krbwatch_config_last_reload_success)"

# ---- keytab rotation, the documented way: rename a new file over the old --------------------
tgt() { scrape_c && [ "$(val "krbwatch_hop_success{aws_region=\"$1\",db_cluster=\"mariadb-$2\",hop=\"tgt\"}")" = "$3" ]; }
# the KDC re-keys krbmon (a new kvno) and exports it, as an AD admin's ktpass would
KRB5_CONFIG=$KW_LAB_DIR/etc/krb5-kdc-onprem.conf KRB5_KDC_PROFILE=$KW_LAB_DIR/kdc/onprem/kdc-dc1.conf \
	kadmin.local -r "$KW_LAB_REALM_USER" -q "ktadd -k $KW_TMP/new.keytab $KW_LAB_PRINCIPAL" \
	>>"$LOG" 2>&1
check "the KDC re-keyed krbmon: the installed keytab is stale (tgt fails in $E)" wait_for 60 tgt "$E" use1 0
inc sh -c 'cat >/root/new.keytab' <"$KW_TMP/new.keytab"
runs_e() { scrape_c; val "krbwatch_probe_runs_total{aws_region=\"$E\",probe=\"chain\"}"; }
r0=$(runs_e)
t0=$(now_ms)
inc sh -c 'install -m 0640 -o root -g krbwatch /root/new.keytab /etc/krbwatch/krbmon.keytab.new &&
	mv /etc/krbwatch/krbmon.keytab.new /etc/krbwatch/krbmon.keytab'
# the run that may have been in flight at the rename, then the next one: it must use the new key
ran2() { [ "$(runs_e)" -ge $((r0 + 2)) ]; }
wait_for 60 ran2
check "rotated (install + mv, no reload): the next probe run gets a TGT in $E" tgt "$E" use1 1
check "... and in $W" wait_for 30 tgt "$W" usw2 1
fig "keytab rotation to a good tgt: $(( $(now_ms) - t0 )) ms (interval 2 s)"
check_eq "... without a restart" "$pid" "$(prop MainPID)"

# ---- no core file when the daemon aborts -------------------------------------------------------
sig ABRT "$pid"
restarted() { p=$(prop MainPID); [ "$p" != 0 ] && [ "$p" != "$pid" ] && active; }
check "SIGABRT: systemd restarts it (Restart=on-failure)" wait_for 60 restarted
check "... systemd recorded a kill by SIGABRT" jgrep 'code=killed, status=6/ABRT'
no_dump() { ! journal | grep -q 'code=dumped'; }
check "... and no core dumped" no_dump
check_eq "... no core file in / or the state directory" "" \
	"$(inc find / /var/lib/krbwatch /var/lib/systemd/coredump -maxdepth 1 -name 'core*' -newer /root/krbwatch.deb 2>/dev/null)"

# ---- the watchdog: a frozen daemon is restarted -------------------------------------------------
inc mkdir -p /etc/systemd/system/krbwatch.service.d
printf '# t_systemd_boot.sh: a short watchdog, so that the test waits 5 s, not 30\n[Service]\nWatchdogSec=5s\n' |
	inc sh -c 'cat >/etc/systemd/system/krbwatch.service.d/test-watchdog.conf'
inc systemctl daemon-reload
inc systemctl restart krbwatch
pid=$(prop MainPID)
check_eq "the drop-in is in force: WatchdogUSec=5s" 5s "$(prop WatchdogUSec)"
t0=$(now_ms)
sig STOP "$pid"
check "SIGSTOP: the watchdog fires and systemd restarts krbwatch" wait_for 120 restarted
fig "SIGSTOP to a new active process: $(( $(now_ms) - t0 )) ms (WatchdogSec=5s, TimeoutAbortSec=5s, RestartSec=5s)"
check "... the journal says why" jgrep 'Watchdog timeout'
inc rm -r /etc/systemd/system/krbwatch.service.d
inc systemctl daemon-reload

# ---- exposure from the real manager, stop ------------------------------------------------------
exposure=$(inc systemd-analyze security krbwatch --no-pager 2>/dev/null |
	sed -n 's/.*Overall exposure level for krbwatch.service: \([0-9.]*\).*/\1/p')
fig "exposure (systemd-analyze security from the booted manager): $exposure"
check "systemd-analyze security krbwatch: $exposure <= 1.5" \
	awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 1.5) }'
inc systemctl restart krbwatch
wait_for 60 both_up
t0=$(now_ms) jlines=$(journal | wc -l)
inc systemctl stop krbwatch
check_eq "systemctl stop: exit 0" 0 "$?"
fig "systemctl stop: $(( $(now_ms) - t0 )) ms (TimeoutStopSec=5s)"
# ExecMainCode 1 is CLD_EXITED: it returned, status 0, rather than being killed
check_eq "... clean exit, within TimeoutStopSec (no SIGKILL)" "success 1 0" \
	"$(prop Result) $(prop ExecMainCode) $(prop ExecMainStatus)"
no_timeout() { ! journal | tail -n +"$((jlines + 1))" | grep -q -e 'timed out' -e 'Killing process'; }
check "... systemd never had to time it out" no_timeout

# ---- upgrade, remove, purge --------------------------------------------------------------
# an upgrade: the same files repacked as a newer version, so dpkg runs the real upgrade path
inc systemctl start krbwatch
pid=$(prop MainPID)
dpkg-deb -R "$DEB" "$KW_TMP/up" &&
	sed -i "s/^Version: .*/Version: ${VERSION}+boot1/" "$KW_TMP/up/DEBIAN/control" &&
	dpkg-deb -b --root-owner-group "$KW_TMP/up" "$R/root/root/krbwatch-up.deb" >/dev/null
inc dpkg -i /root/krbwatch-up.deb >>"$KW_TMP/dpkg.log" 2>&1
check_eq "upgrade to ${VERSION}+boot1: exit 0" 0 "$?"
check "... the edited conffile stays" inc grep -q "^listen: 127.0.0.1:$P2" /etc/krbwatch/krbwatch.yml
check "... the service is restarted (a new process) and active" wait_for 60 restarted
check_eq "... still enabled" enabled "$(inc systemctl is-enabled krbwatch)"
inc dpkg -L krbwatch >"$KW_TMP/files"
inc dpkg --remove krbwatch >>"$KW_TMP/dpkg.log" 2>&1
check_eq "remove: the service is gone" inactive "$(inc systemctl is-active krbwatch)"
check "... the configuration stays" inc test -f /etc/krbwatch/krbwatch.yml
inc dpkg --purge krbwatch >>"$KW_TMP/dpkg.log" 2>&1
left=""
while read -r f; do
	case $f in /.|/etc|/lib|/lib/systemd|/lib/systemd/system|/usr|/usr/*/|/usr/lib|/usr/lib/sysusers.d|\
	    /usr/sbin|/usr/share|/usr/share/doc|/usr/share/man|/usr/share/man/man5|/usr/share/man/man8) continue ;; esac
	# directories: only the package's own (/etc/krbwatch is checked below)
	if inc test -d "$f"; then
		case $f in */krbwatch|*/krbwatch/*) [ "$f" != /etc/krbwatch ] || continue ;; *) continue ;; esac
	fi
	inc test -e "$f" && left="$left $f"
done <"$KW_TMP/files"
check_eq "purge: no file of the package is left" "" "$left"
gone() { ! inc test -e /var/lib/krbwatch && ! inc test -e /etc/systemd/system/multi-user.target.wants/krbwatch.service; }
check "... nor the state directory, nor the unit's enablement" gone
check_eq "... /etc/krbwatch holds only the files placed by hand (the keytab and CA)" \
	"krbmon.keytab lab-ca.pem" "$(inc ls -A /etc/krbwatch 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')"
