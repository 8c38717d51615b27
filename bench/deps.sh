#!/bin/sh
# Bench-only Debian packages (not part of `make check`'s deps): the alternatives krbwatch is
# measured against and the load generator.  Idempotent like tests/deps.sh: installs only what is
# missing, and never lets a distro service start (policy-rc.d) -- the bench starts its own
# blackbox_exporter on loopback.
set -eu

PKGS="prometheus-blackbox-exporter wrk procps curl python3"

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
	echo "bench deps: missing Debian packages:$missing; run as root (or install them) first" >&2
	exit 1
fi

echo "bench deps: installing:$missing" >&2
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
