#!/bin/sh
# Golden configuration tests: every tests/conf/bad/NAME.yml must make `krbwatch --check-config`
# exit 1 with exactly NAME.err on stderr; every tests/conf/good/NAME.yml must exit 0 with
# "FILE: OK".  Files named creds-*.yml run with CREDENTIALS_DIRECTORY=tests/conf/creds.
# KW_BLESS=1 rewrites the .err files from what the binary prints (review the diff!).
. "$(dirname "$0")/lib.sh"

cd "$KW_TOP" || exit 1
unset CREDENTIALS_DIRECTORY
conf=tests/conf

# Git keeps only 644 and 755: give the keytabs and tokens the modes the goldens are about, and
# put the checkout's modes back at the end so that no world-writable file stays behind.
set_modes() {
	chmod 600 $conf/keytabs/ok.keytab $conf/keytabs/hook.token $conf/creds/krbmon.keytab \
	    $conf/keytabs/empty.token $conf/keytabs/blank.token $conf/keytabs/crlf.token \
	    $conf/creds/hook.token
	chmod 640 $conf/keytabs/group.keytab
	chmod 644 $conf/keytabs/world.keytab $conf/keytabs/world.token $conf/files/ca.pem
	chmod 602 $conf/keytabs/writable.keytab
}
restore_modes() {
	chmod 644 $conf/keytabs/* $conf/creds/*
}
set_modes
at_exit restore_modes

# run_check FILE: runs the binary on FILE; stdout, stderr and status in $KW_TMP/{out,err,rc}
run_check() {
	case $(basename "$1") in
	creds-*) CREDENTIALS_DIRECTORY=$conf/creds "$KW_BIN" --check-config "$1" ;;
	*) "$KW_BIN" --check-config "$1" ;;
	esac >"$KW_TMP/out" 2>"$KW_TMP/err"
	echo $? >"$KW_TMP/rc"
}

nbad=0
for yml in $conf/bad/*.yml; do
	name=${yml%.yml}
	nbad=$((nbad + 1))
	run_check "$yml"
	rc=$(cat "$KW_TMP/rc")
	if [ "${KW_BLESS:-0}" = 1 ]; then
		cp "$KW_TMP/err" "$name.err"
	fi
	check_eq "$yml: exit status 1" 1 "$rc"
	if [ ! -f "$name.err" ]; then
		not_ok "$yml: $name.err exists"
	elif cmp -s "$name.err" "$KW_TMP/err"; then
		ok "$yml: stderr is $(basename "$name.err")"
	else
		not_ok "$yml: stderr is $(basename "$name.err")"
		diff -u "$name.err" "$KW_TMP/err" | sed 's/^/#   /'
	fi
	check "$yml: nothing on stdout" test ! -s "$KW_TMP/out"
done

ngood=0
for yml in $conf/good/*.yml; do
	ngood=$((ngood + 1))
	run_check "$yml"
	check_eq "$yml: exit status 0" 0 "$(cat "$KW_TMP/rc")"
	check_eq "$yml: says OK" "$yml: OK" "$(cat "$KW_TMP/out")"
	if [ -s "$KW_TMP/err" ]; then
		not_ok "$yml: nothing on stderr"
		sed 's/^/#   /' "$KW_TMP/err"
	else
		ok "$yml: nothing on stderr"
	fi
done

# every .err has its .yml (a renamed test must not leave a golden that is never checked)
for err in $conf/bad/*.err; do
	check "$err: has its .yml" test -f "${err%.err}.yml"
done
check "at least 20 bad and 3 good configurations ($nbad, $ngood)" \
    test "$nbad" -ge 20 -a "$ngood" -ge 3

# The annotated example is valid once the files it names exist.
sed -e "s|/etc/krbwatch/krbmon.keytab|$KW_TOP/$conf/keytabs/ok.keytab|" \
    -e "s|/etc/krbwatch/global-bundle.pem|$KW_TOP/$conf/files/ca.pem|g" \
    -e "s|/etc/krbwatch/hook.token|$KW_TOP/$conf/keytabs/hook.token|" \
    -e "s|^state_directory: /var/lib/krbwatch|state_directory: $KW_TMP|" conf/krbwatch.yml \
    >"$KW_TMP/example.yml"
"$KW_BIN" --check-config "$KW_TMP/example.yml" >/dev/null 2>"$KW_TMP/err"
check_eq "conf/krbwatch.yml is valid (with its files in place)" "" "$(cat "$KW_TMP/err")"

# A file that is not there has no line to point at.
run_check $conf/bad/no-such-file.yml
check_eq "a missing file: exit 1" 1 "$(cat "$KW_TMP/rc")"
check_eq "a missing file: says so" \
    "$conf/bad/no-such-file.yml: cannot open: No such file or directory" "$(cat "$KW_TMP/err")"

# The same relative keytab resolves beside the file without CREDENTIALS_DIRECTORY, and in it
# with: creds-systemd.yml is a good file above, and fails like this without the variable.
"$KW_BIN" --check-config $conf/good/creds-systemd.yml >/dev/null 2>"$KW_TMP/err"
check_eq "relative keytab without CREDENTIALS_DIRECTORY: beside the configuration" \
    "$conf/good/creds-systemd.yml:6:11: keytab \"krbmon.keytab\" ($conf/good/krbmon.keytab) does not exist, expected an existing file" \
    "$(head -n 1 "$KW_TMP/err")"

# A keytab this user cannot read.  The message names the uid, so it is not a golden; root reads
# everything, so as root the check runs as nobody (setpriv) when that is possible.
cp $conf/keytabs/ok.keytab "$KW_TMP/locked.keytab"
chmod 000 "$KW_TMP/locked.keytab"
sed "s|keytab: ../keytabs/group.keytab.*|keytab: locked.keytab|" $conf/good/minimal.yml \
    >"$KW_TMP/locked.yml"
chmod 755 "$KW_TMP"
chmod 644 "$KW_TMP/locked.yml"
if [ "$(id -u)" != 0 ]; then
	as_user="" uid=$(id -u)
elif command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups \
    test -x "$KW_BIN" 2>/dev/null; then
	as_user="setpriv --reuid=65534 --regid=65534 --clear-groups" uid=65534
else
	as_user="skip" uid=""
fi
if [ "$as_user" = skip ]; then
	ok "an unreadable keytab is reported # SKIP root, and setpriv cannot run $KW_BIN as nobody"
else
	$as_user "$KW_BIN" --check-config "$KW_TMP/locked.yml" >/dev/null 2>"$KW_TMP/err"
	check_eq "an unreadable keytab is reported" \
	    "$KW_TMP/locked.yml:4:11: keytab \"locked.keytab\" ($KW_TMP/locked.keytab) is not readable by uid $uid: Permission denied" \
	    "$(cat "$KW_TMP/err")"
fi

# a URL's credentials never reach a message (issue 17): the goldens hold none
check "no error message shows a webhook URL's user, password or query" \
    sh -c "! grep -l 's3cr3t' $conf/bad/*.err"
