# Sourced by bench/run.sh: a private bench network of two namespaces joined by a veth pair,
# nothing in the root namespace, nothing from the lab.
#   ${BN}-s  server: krb5kdc (wildcard, so it answers on every address) and kadmind (88, 464)
#            on 10.97.0.11 .. 10.97.0.(10+KDC_ADDRS); named on 10.97.0.53 and .54, authoritative
#            for bench.test with every name krbwatch's DNS probe asks.
#   ${BN}-c  client: krbwatch, blackbox_exporter, the driver, wrk (all on its own loopback).
# Functions: bn_up, bn_down, in_c CMD..., bn_bg NS LOG CMD... (sets BG_PID).
BN=${KW_BENCH_NS:-kwbench}
NS_S=$BN-s
NS_C=$BN-c
REALM=BENCH.TEST
DOMAIN=bench.test
KDC_ADDRS=${KDC_ADDRS:-40}
RES1=10.97.0.53
RES2=10.97.0.54
bn_pids=""

kdc_ip() { echo "10.97.0.$((10 + $1))"; }
in_c() { ip netns exec "$NS_C" "$@"; }
bn_bg() { _ns=$1 _log=$2; shift 2; ip netns exec "$_ns" "$@" >>"$_log" 2>&1 & BG_PID=$!; }

bn_down() {
	for p in $bn_pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $bn_pids; do
		i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null
	done
	bn_pids=""
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	return 0
}

# bn_up DIR NREGIONS_FOR_ZONE: namespaces, realm, zone, daemons; waits until they listen.
bn_up() {
	_d=$1; _nz=$2
	mkdir -p "$_d/kdc" "$_d/named"
	ip netns del "$NS_C" 2>/dev/null; ip netns del "$NS_S" 2>/dev/null
	ip netns add "$NS_C" && ip netns add "$NS_S" &&
	ip link add kwbc0 netns "$NS_C" type veth peer name kwbs0 netns "$NS_S" &&
	ip -n "$NS_C" link set lo up && ip -n "$NS_S" link set lo up &&
	ip -n "$NS_C" addr add 10.97.0.1/24 dev kwbc0 || return 1
	for i in $(seq 1 "$KDC_ADDRS"); do ip -n "$NS_S" addr add "$(kdc_ip "$i")/24" dev kwbs0 || return 1; done
	ip -n "$NS_S" addr add $RES1/24 dev kwbs0 && ip -n "$NS_S" addr add $RES2/24 dev kwbs0 &&
	ip -n "$NS_C" link set kwbc0 up && ip -n "$NS_S" link set kwbs0 up || return 1

	cat >"$_d/kdc/krb5.conf" <<EOC
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
[realms]
	$REALM = {
		kdc = $(kdc_ip 1)
		admin_server = $(kdc_ip 1)
	}
EOC
	# One listening socket per address, not a wildcard one: MIT's TCP listen backlog is 5
	# (kadmind's cannot be changed), and a Region's KDC probe connects to all its KDCs at once;
	# behind one wildcard socket, SYNs overflow the backlog and probes of either side time out
	# for the server's sake.
	_al=$(for i in $(seq 1 "$KDC_ADDRS"); do printf '%s ' "$(kdc_ip "$i")"; done)
	cat >"$_d/kdc/kdc.conf" <<EOC
[kdcdefaults]
	kdc_tcp_listen_backlog = 1024
	kdc_listen = $_al
	kdc_tcp_listen = $_al
[realms]
	$REALM = {
		database_name = $_d/kdc/principal
		key_stash_file = $_d/kdc/stash
		acl_file = $_d/kdc/kadm5.acl
		kadmind_listen = $_al
		kpasswd_listen = $_al
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
		default_principal_flags = +preauth
	}
[logging]
	kdc = FILE:/dev/null
	admin_server = FILE:/dev/null
EOC
	printf '*/admin@%s *\n' "$REALM" >"$_d/kdc/kadm5.acl"
	(
		export KRB5_CONFIG="$_d/kdc/krb5.conf" KRB5_KDC_PROFILE="$_d/kdc/kdc.conf"
		kdb5_util -r "$REALM" create -s -P "bench-master-$$" &&
		kadmin.local -r "$REALM" -q "addprinc -randkey +requires_preauth krbmon" &&
		kadmin.local -r "$REALM" -q "ktadd -k $_d/krbmon.keytab krbmon"
	) >"$_d/kdc/setup.log" 2>&1 || { cat "$_d/kdc/setup.log" >&2; return 1; }
	chmod 600 "$_d/krbmon.keytab"

	{
		printf '$TTL 300\n@ IN SOA ns.%s. root.%s. 1 60 60 600 60\n@ IN NS ns\nns IN A %s\n' \
		    "$DOMAIN" "$DOMAIN" "$RES1"
		printf '@ IN A %s\n@ IN A %s\n@ IN AAAA fd00::11\ndc1 IN A %s\n' "$(kdc_ip 1)" "$(kdc_ip 2)" "$(kdc_ip 1)"
		for s in _kerberos._udp _kerberos._tcp; do printf '%s IN SRV 0 0 88 dc1\n' "$s"; done
		for s in _kpasswd._udp _kpasswd._tcp; do printf '%s IN SRV 0 0 464 dc1\n' "$s"; done
		printf '_ldap._tcp.dc._msdcs IN SRV 0 0 389 dc1\n'
		for r in $(seq 1 "$_nz"); do
			printf '_kerberos._tcp.r%03d._sites.dc._msdcs IN SRV 0 0 88 dc1\n' "$r"
			printf 'db%04d IN A 10.97.1.%d\n' "$r" $((r % 250 + 1))
		done
		i=1; while [ $i -le 1000 ]; do printf 'c%04d IN A 10.97.2.%d\n' $i $((i % 250 + 1)); i=$((i + 1)); done
	} >"$_d/named/bench.zone"
	cat >"$_d/named/named.conf" <<EOC
options {
	directory "$_d/named";
	pid-file "$_d/named/named.pid";
	session-keyfile "$_d/named/session.key";
	listen-on { $RES1; $RES2; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
	querylog no;
};
logging { category default { null; }; category lame-servers { null; }; };
controls { };
zone "$DOMAIN" { type primary; file "$_d/named/bench.zone"; };
EOC
	export KRB5_CONFIG="$_d/kdc/krb5.conf" KRB5_KDC_PROFILE="$_d/kdc/kdc.conf"
	bn_bg "$NS_S" "$_d/servers.log" krb5kdc -n; bn_pids="$bn_pids $BG_PID"
	bn_bg "$NS_S" "$_d/servers.log" kadmind -nofork -P "$_d/kdc/kadmind.pid"; bn_pids="$bn_pids $BG_PID"
	bn_bg "$NS_S" "$_d/servers.log" named -4 -f -u root -n 1 -c "$_d/named/named.conf"; bn_pids="$bn_pids $BG_PID"
	unset KRB5_CONFIG KRB5_KDC_PROFILE
	i=0
	until ip netns exec "$NS_S" ss -Hlnut | grep -q "$RES2:53 " &&
	    ip netns exec "$NS_S" ss -Hlnut | grep -q ':464 ' &&
	    ip netns exec "$NS_S" ss -Hlnut | grep -q ':88 '; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "bench: servers do not listen" >&2; cat "$_d/servers.log" >&2; return 1; }
		sleep 0.05
	done
	return 0
}
