#!/bin/sh
# `krbwatch probe --json` prints JSON that parses whatever bytes come from outside: the
# configuration sits under a Latin-1 directory name (caf\xe9, not UTF-8), which the output
# names.  Its escaper is the one the webhooks use (lib/json.c), with UTF-8 repair.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || { not_ok "python3 is installed"; exit 1; }
dir=$(printf '%s/caf\351' "$KW_TMP")
mkdir "$dir" || { not_ok "a directory with a Latin-1 name is made"; exit 1; }
write_config "$dir/k.yml"
"$KW_BIN" probe --json -v -c "$dir/k.yml" >"$KW_TMP/out.json" 2>"$KW_TMP/err.log"
check_eq "krbwatch probe --json exits 1 (nothing answers)" 1 "$?"
check "the output parses as JSON" python3 -c '
import json, sys
with open(sys.argv[1], "rb") as f:
	json.loads(f.read().decode("utf-8"))
' "$KW_TMP/out.json"
check "the byte that is not UTF-8 is U+FFFD in the config's path" \
	grep -qF 'caf\ufffd/k.yml' "$KW_TMP/out.json"
[ "$KW_FAILED" -eq 0 ] || { echo "# stderr:"; sed 's/^/#   /' "$KW_TMP/err.log" | tail -20; }
