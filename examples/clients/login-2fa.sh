#!/usr/bin/env bash
# A Gatehouse client in shell: log in with a password and a TOTP code, refresh the tokens, and
# do a sudo action (change the password). Needs curl and python3 (for the TOTP code and JSON).
#
#   GATEHOUSE_URL=http://127.0.0.1:8080 ./login-2fa.sh EMAIL PASSWORD TOTP_SECRET NEW_PASSWORD
#
# TOTP_SECRET is the secret= of the otpauth URL that /user/2fa/totp/setup returned (an
# authenticator app would hold it; here the script computes the code itself).
set -euo pipefail
H=${GATEHOUSE_URL:-http://127.0.0.1:8080}
email=$1 password=$2 secret=$3 newpassword=$4

json() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# totp [WAIT]: the current code; with WAIT, first sleep until the next 30-second step begins.
totp() {
  python3 - "$secret" "${1:-}" <<'PY'
import base64, hashlib, hmac, struct, sys, time
if sys.argv[2]:
    time.sleep(30 - time.time() % 30 + 0.5)
s = sys.argv[1].upper(); key = base64.b32decode(s + "=" * (-len(s) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}
# call METHOD PATH TOKEN [BODY]: prints the body; fails with the error envelope on a 4xx/5xx.
call() {
  local out code
  out=$(curl -sS -w '\n%{http_code}' -X "$1" "$H$2" ${3:+-H "Authorization: Bearer $3"} \
        -H 'Content-Type: application/json' ${4:+-d "$4"})
  code=${out##*$'\n'}; out=${out%$'\n'*}
  if [ "$code" -ge 400 ]; then echo "$1 $2: $code $out" >&2; return 1; fi
  printf '%s' "$out"
}

# 1. Password: with 2FA active the answer is a partial token.
partial=$(call POST /auth/login "" "$(json username "$email" password "$password")")
echo "logged in with the password (partial token)"

# 2. Second factor: the partial token and a TOTP code give the three tokens.
# A code works once: if this step's code was used already (TOTP_INVALID), an authenticator
# app's user waits for the next one; so does this script, once.
tokens=$(call POST /user/2fa/totp/authenticate "$partial" "$(json totp "$(totp)")" 2>/dev/null) || {
  echo "code refused (used already?): waiting for the next 30-second code"
  tokens=$(call POST /user/2fa/totp/authenticate "$partial" "$(json totp "$(totp wait)")")
}
refresh=$(field refreshToken <<<"$tokens")
access=$(field accessToken <<<"$tokens")
sudo=$(field sudoToken <<<"$tokens")
echo "second factor accepted: user $(call GET /auth/accesstoken/validate "$access" | field userId)"

# 3. Refresh: a new refresh token in the same session, then a fresh access token.
refresh=$(call GET /auth/refreshtoken "$refresh")
access=$(call GET /auth/accesstoken "$refresh")
echo "tokens refreshed"

# 4. A sudo action: with 2FA active, changing the password needs the 5-minute sudo token.
call PUT /user/password/old-password "$sudo" "$(json oldPassword "$password" newPassword "$newpassword")" >/dev/null
echo "password changed with the sudo token; other sessions are revoked"
