#!/bin/sh
# TLS and basic authentication on the HTTP listener (krbwatch.yml `web:`), with curl against the
# real binary: certificates made here with openssl, a reload that brings a new certificate and
# new users, and one with a broken certificate that must keep the old ones.
. "$(dirname "$0")/lib.sh"

pki=$KW_TMP/pki
mkdir -p "$pki"
ssl() { openssl "$@" >>"$KW_TMP/openssl.log" 2>&1; }

# mkca NAME: a self-signed CA.  mkcert CA NAME EXT: a key and a certificate signed by CA.
mkca() {
	ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	    -subj "/CN=krbwatch test $1" -keyout "$pki/$1.key" -out "$pki/$1.crt"
}
mkcert() {
	ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
	    -keyout "$pki/$2.key" -out "$pki/$2.csr" &&
	printf '%s\n' "$3" >"$pki/$2.ext" &&
	ssl x509 -req -in "$pki/$2.csr" -CA "$pki/$1.crt" -CAkey "$pki/$1.key" -CAcreateserial \
	    -days 2 -extfile "$pki/$2.ext" -out "$pki/$2.crt" &&
	chmod 600 "$pki/$2.key"
}
mkca ca && mkca ca2 && mkca clientca && mkca rogue &&
mkcert ca server "subjectAltName=IP:127.0.0.1,DNS:localhost" &&
mkcert ca2 server2 "subjectAltName=IP:127.0.0.1,DNS:localhost" &&
mkcert clientca client "extendedKeyUsage=clientAuth" &&
mkcert rogue intruder "extendedKeyUsage=clientAuth"
check "openssl made the test certificates" test -s "$pki/intruder.crt"

# bcrypt hashes ($2y$ as htpasswd writes them, $2b$ as Python's crypt does), cost 5: fast tests
bcrypt() {
	python3 -W ignore -c 'import crypt, sys
print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)).replace("$2b$", sys.argv[2], 1))' "$1" "$2"
}
hash_prom=$(bcrypt 's3cret' '$2y$')
hash_graf=$(bcrypt 'an0ther:pass' '$2b$')

port=$(free_port)
url=https://127.0.0.1:$port
web_conf() {	# web_conf CERT KEY USER HASH [USER HASH]
	printf 'web:\n  tls_server_config:\n    cert_file: %s\n    key_file: %s\n' "$1" "$2"
	printf '  basic_auth_users:\n    %s: "%s"\n' "$3" "$4"
	[ $# -ge 6 ] && printf '    %s: "%s"\n' "$5" "$6"
	return 0
}
write_config "$KW_TMP/k.yml" "$port" "$(web_conf server.crt "$pki/server.key" prom "$hash_prom" \
    grafana "$hash_graf")"
cp "$pki/server.crt" "$KW_TMP/server.crt"	# relative: beside the configuration

"$KW_BIN" -c "$KW_TMP/k.yml" 2>>"$KW_TMP/krbwatch.log" &
KW_PID=$!
KW_PORT=$port
at_exit stop_krbwatch
c() { curl -sS --max-time 5 --cacert "$pki/ca.crt" "$@"; }
check "krbwatch starts with TLS and answers /-/healthy with credentials" \
    wait_for 10 c -f -o /dev/null -u prom:s3cret "$url/-/healthy"
check "the log says the listener speaks TLS" grep -q "listening on 127.0.0.1:$port (TLS)" \
    "$KW_TMP/krbwatch.log"

check_eq "a TLS scrape with the right CA and credentials: 200" "200" \
    "$(c -o "$KW_TMP/m.txt" -w '%{http_code}' -u prom:s3cret "$url/metrics")"
check "the scrape has the metrics" grep -q '^krbwatch_build_info{' "$KW_TMP/m.txt"
check_eq "the second user (a \$2b\$ hash, a colon in the password): 200" "200" \
    "$(c -o /dev/null -w '%{http_code}' -u 'grafana:an0ther:pass' "$url/metrics")"
curl -sS --max-time 5 -o /dev/null "$url/metrics" 2>/dev/null
check_eq "without the CA, curl does not trust the certificate (exit 60)" "60" "$?"
curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$port/metrics" 2>/dev/null
rc=$?
check "plain HTTP to the TLS port gets no answer (curl exit $rc)" [ "$rc" -ne 0 ]
check "the listener still answers after that" c -f -o /dev/null -u prom:s3cret "$url/metrics"
check "TLS 1.1 is refused (min_version TLS12 by default)" \
    sh -c "! curl -sS --max-time 5 --cacert '$pki/ca.crt' --tls-max 1.1 -o /dev/null '$url/' 2>/dev/null"

c -D "$KW_TMP/h.txt" -o /dev/null "$url/metrics"
check_eq "no credentials: 401" "401" "$(head -1 "$KW_TMP/h.txt" | cut -d' ' -f2)"
check "401 asks for basic authentication" \
    grep -q '^WWW-Authenticate: Basic realm="krbwatch"' "$KW_TMP/h.txt"
check_eq "a wrong password: 401" "401" \
    "$(c -o /dev/null -w '%{http_code}' -u prom:wrong "$url/metrics")"
check_eq "an unknown user: 401" "401" \
    "$(c -o /dev/null -w '%{http_code}' -u nobody:s3cret "$url/metrics")"
check_eq "another scheme: 401" "401" \
    "$(c -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret' "$url/metrics")"
check_eq "a user name prefix with the right password: 401" "401" \
    "$(c -o /dev/null -w '%{http_code}' -u pro:s3cret "$url/metrics")"
check_eq "/-/healthy also needs credentials, as with exporter-toolkit: 401" "401" \
    "$(c -o /dev/null -w '%{http_code}' "$url/-/healthy")"
check_eq "and the status page: 401" "401" "$(c -o /dev/null -w '%{http_code}' "$url/")"
check_eq "a method not allowed, with credentials: still 405" "405" \
    "$(c -o /dev/null -w '%{http_code}' -u prom:s3cret -X DELETE "$url/metrics")"

# The cache: after the first good check, a scrape costs no bcrypt.  Cost 5 is too cheap to
# time, so a cost-13 user (about 0.5 s a check) is timed on 10 scrapes, after the reload below.
hash_slow=$(python3 -W ignore -c 'import crypt
print(crypt.crypt("slow", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=8192)))')

# reload: a broken certificate keeps the old one, and fails the reload
printf 'not a certificate\n' >"$KW_TMP/broken.crt"
write_config "$KW_TMP/k.yml" "$port" "$(web_conf broken.crt "$pki/server.key" prom "$hash_prom")"
: >"$KW_TMP/krbwatch.log.mark"
kill -HUP "$KW_PID"
check "a broken cert_file fails the reload, naming the file" wait_for 5 grep -q \
    "k.yml:22:16: cert_file \"$KW_TMP/broken.crt\": cannot use it as a PEM certificate" \
    "$KW_TMP/krbwatch.log"
check "... and says the previous configuration still runs" \
    grep -q "reload failed (1 error): still running the previous configuration" "$KW_TMP/krbwatch.log"
check_eq "... krbwatch_config_last_reload_success 0" "0" "$(c -u prom:s3cret "$url/metrics" |
    awk '$1 == "krbwatch_config_last_reload_success" {print $2}')"
check "... the old certificate is still served" c -f -o /dev/null -u prom:s3cret "$url/metrics"
check "... and the old users still work" c -f -o /dev/null -u 'grafana:an0ther:pass' "$url/metrics"

# a key that does not belong to the certificate
write_config "$KW_TMP/k.yml" "$port" "$(web_conf "$pki/server.crt" "$pki/server2.key" prom "$hash_prom")"
kill -HUP "$KW_PID"
check "a key of another certificate fails the reload, naming both files" wait_for 5 grep -q \
    "key_file \"$pki/server2.key\" does not belong to cert_file \"$pki/server.crt\"" \
    "$KW_TMP/krbwatch.log"

# a good reload: a new certificate from another CA, and other users
write_config "$KW_TMP/k.yml" "$port" "$(web_conf "$pki/server2.crt" "$pki/server2.key" slow "$hash_slow")"
kill -HUP "$KW_PID"
check "a good reload is logged" wait_for 5 grep -q "reloaded $KW_TMP/k.yml" "$KW_TMP/krbwatch.log"
check "the new certificate is served (trusted by the new CA only)" wait_for 5 \
    curl -fsS --max-time 5 --cacert "$pki/ca2.crt" -o /dev/null -u slow:slow "$url/metrics"
check "the old CA no longer verifies the server" \
    sh -c "! c -o /dev/null -u slow:slow '$url/metrics' 2>/dev/null"
check_eq "the removed user is refused: 401" "401" "$(curl -sS --max-time 5 --cacert "$pki/ca2.crt" \
    -o /dev/null -w '%{http_code}' -u prom:s3cret "$url/metrics")"
# Timed against the machine's own speed, not a fixed bound that a busy machine can miss: one
# cost-13 bcrypt is timed here, in this process (a wrong password sent to krbwatch no longer
# measures it: the bcrypt budget may answer 401 without hashing); 10 cached scrapes must cost
# less than 8 of those (uncached, they would cost 10 and the scrapes on top; ASan slows the scrapes).
ms_of() { _s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $(( ($(date +%s%N) - _s) / 1000000 )); }
slow_get() { curl -sS --max-time 20 --cacert "$pki/ca2.crt" -o /dev/null -u "slow:$1" "$url/metrics"; }
ten_scrapes() { for i in 1 2 3 4 5 6 7 8 9 10; do slow_get slow; done; }
one_bcrypt() { python3 -W ignore -c 'import crypt, sys; crypt.crypt("wrong", sys.argv[1])' "$hash_slow"; }
wrong=$(ms_of one_bcrypt)
ms=$(ms_of ten_scrapes)
echo "# figure: 10 scrapes of a cost-13 user: $ms ms; one cost-13 bcrypt: $wrong ms"
check "10 scrapes of a cost-13 user cost less than 8 bcrypt checks: the good check is cached ($ms ms, one check $wrong ms)" \
    [ "$ms" -lt $((wrong * 8)) ]
check_eq "a wrong password is never cached: 401" "401" "$(curl -sS --max-time 5 \
    --cacert "$pki/ca2.crt" -o /dev/null -w '%{http_code}' -u slow:slow2 "$url/metrics")"
# a reload that also moves the listener: the new one speaks TLS with the new settings
port2=$(free_port)
write_config "$KW_TMP/k.yml" "$port2" "$(web_conf "$pki/server2.crt" "$pki/server2.key" slow "$hash_slow")"
kill -HUP "$KW_PID"
check "a reload to another port listens there with TLS" wait_for 5 grep -q \
    "listening on 127.0.0.1:$port2 (TLS)" "$KW_TMP/krbwatch.log"
check "the new port serves the new certificate and users" curl -fsS --max-time 5 \
    --cacert "$pki/ca2.crt" -o /dev/null -u slow:slow "https://127.0.0.1:$port2/metrics"
stop_krbwatch
check_eq "krbwatch stops cleanly" 0 "$KW_RC"

# Client certificates: RequireAndVerifyClientCert, no basic authentication.
port=$(free_port)
url=https://127.0.0.1:$port
write_config "$KW_TMP/m.yml" "$port" "web:
  tls_server_config:
    cert_file: $pki/server.crt
    key_file: $pki/server.key
    client_ca_file: $pki/clientca.crt
    client_auth_type: RequireAndVerifyClientCert
    min_version: TLS13"
"$KW_BIN" -c "$KW_TMP/m.yml" 2>>"$KW_TMP/krbwatch.log" &
KW_PID=$!
check "krbwatch starts with client certificates required" wait_for 10 \
    c -f -o /dev/null --cert "$pki/client.crt" --key "$pki/client.key" "$url/-/healthy"
check "a scrape with the client certificate: 200" \
    c -f -o /dev/null --cert "$pki/client.crt" --key "$pki/client.key" "$url/metrics"
check "without a client certificate: refused" sh -c "! c -o /dev/null '$url/metrics' 2>/dev/null"
check "a certificate from another CA: refused" sh -c "! c -o /dev/null --cert '$pki/intruder.crt' \
    --key '$pki/intruder.key' '$url/metrics' 2>/dev/null"
check "TLS 1.2 is refused with min_version TLS13" sh -c "! c -o /dev/null --tls-max 1.2 \
    --cert '$pki/client.crt' --key '$pki/client.key' '$url/metrics' 2>/dev/null"
stop_krbwatch
check_eq "krbwatch stops cleanly" 0 "$KW_RC"

# --check-config reads the certificate and key too, and a broken one fails it
write_config "$KW_TMP/b.yml" "$(free_port)" "$(web_conf broken.crt "$pki/server.key" prom "$hash_prom")"
"$KW_BIN" --check-config "$KW_TMP/b.yml" >/dev/null 2>"$KW_TMP/err"
check_eq "--check-config fails on a broken certificate" 1 "$?"
check "... naming the file and its place" grep -q "^$KW_TMP/b.yml:22:16: cert_file \"$KW_TMP/broken.crt\"" "$KW_TMP/err"
