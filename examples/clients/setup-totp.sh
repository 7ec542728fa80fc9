#!/usr/bin/env bash
# Prepares an account for the two client examples: registers EMAIL with PASSWORD (registration
# is open under `make run`; an existing account is reused), turns on TOTP and prints the TOTP
# secret, which an authenticator app would otherwise keep. Needs curl and python3.
#
#   SECRET=$(GATEHOUSE_URL=http://127.0.0.1:8080 ./setup-totp.sh EMAIL PASSWORD)
set -euo pipefail
H=${GATEHOUSE_URL:-http://127.0.0.1:8080}
email=$1 password=$2

json() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }
# call METHOD PATH TOKEN [BODY]: prints the body and the status on the last line.
call() {
  curl -sS -w '\n%{http_code}' -X "$1" "$H$2" ${3:+-H "Authorization: Bearer $3"} \
       -H 'Content-Type: application/json' ${4:+-d "$4"}
}
body() { local out; out=$(cat); printf '%s' "${out%$'\n'*}"; }
status() { local out; out=$(cat); printf '%s' "${out##*$'\n'}"; }
fail() { echo "$1: $2" >&2; exit 1; }

r=$(call POST /user "" "$(json email "$email" password "$password")")
case $(status <<<"$r") in
  200) echo "registered $email" >&2 ;;
  409) echo "$email exists: using it" >&2 ;;
  *) fail "POST /user" "$(body <<<"$r")" ;;
esac
r=$(call POST /auth/login "" "$(json username "$email" password "$password")")
[ "$(status <<<"$r")" = 200 ] || fail "POST /auth/login" "$(body <<<"$r")"
refresh=$(body <<<"$r")
access=$(curl -sS -f "$H/auth/accesstoken" -H "Authorization: Bearer $refresh") ||
  fail "GET /auth/accesstoken" "this account has 2FA on already: use another address"
r=$(call POST /user/2fa/totp/setup "$access" '{}')
[ "$(status <<<"$r")" = 200 ] || fail "POST /user/2fa/totp/setup" "$(body <<<"$r")"
secret=$(body <<<"$r" | python3 -c 'import json,sys,urllib.parse as u; q=u.urlparse(json.load(sys.stdin)["url"]).query; print(u.parse_qs(q)["secret"][0])')
# Enable with the code of the previous 30-second step (still accepted), so that the clients'
# first code, of the current step, has not been used yet.
code=$(python3 - "$secret" <<'PY'
import base64, hashlib, hmac, struct, sys, time
s = sys.argv[1].upper(); key = base64.b32decode(s + "=" * (-len(s) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 - 1), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
)
r=$(call POST /user/2fa/totp/enable "$access" "$(json totp "$code")")
[ "$(status <<<"$r")" = 200 ] || fail "POST /user/2fa/totp/enable" "$(body <<<"$r")"
echo "TOTP on; recovery codes: $(body <<<"$r")" >&2
echo "$secret"
