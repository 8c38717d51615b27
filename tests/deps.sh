#!/bin/sh
# Installs every Debian package that build, tests and demo need, and any named as arguments (the
# bench's, from bench/deps.sh). Idempotent: installs only what is missing, and never lets a distro
# service start (policy-rc.d), because the lab and the bench run their own.
set -eu

PKGS="$*

gcc make pkg-config libc6-dev
libevent-dev libc-ares-dev libkrb5-dev libcurl4-openssl-dev libsystemd-dev libyaml-dev libssl-dev
libcrypt-dev clang libclang-rt-dev
curl python3 python3-gssapi python3-yaml prometheus systemd man-db valgrind
krb5-kdc krb5-admin-server krb5-user
mariadb-server mariadb-client mariadb-plugin-gssapi-server mariadb-plugin-gssapi-client
postgresql-15 postgresql-client-15 bind9 bind9-dnsutils iproute2 nftables faketime openssl procps
prometheus-alertmanager systemd-container debhelper dpkg-dev lintian rpm
chromium fonts-dejavu-core
"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing; run as root (or install them) first" >&2
	exit 1
fi

echo "deps: installing:$missing" >&2
policy=/usr/sbin/policy-rc.d
created=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created=1
fi
trap '[ "$created" = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2 || apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
