#!/usr/bin/env bash
# A token-authenticated endpoint (GET /user/2fa) against a bare fasthttp handler that returns the
# same bytes, with wrk on loopback, in the same run: requests per second, p50/p99, and the ratio.
# Usage: bench/http.sh [connections] [seconds]   (run from the repository root after make build)
set -euo pipefail
conns=${1:-8}
secs=${2:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'kill $gh $bare 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/bare" "$root/bench/bare"
# Both servers run with the GOMAXPROCS gatehouse serve picks for itself (twice the CPUs), so
# only the handler differs.
export GOMAXPROCS=$(( 2 * $(nproc) ))
GATEHOUSE_ADDR=127.0.0.1:18091 GATEHOUSE_DATA="$tmp/data" GATEHOUSE_REGISTRATION=open GATEHOUSE_LOG_LEVEL=warn \
  GATEHOUSE_PLUGIN_CACHE="$root/.cache/plugin-cache" GATEHOUSE_ACCESS_TTL=1h "$root/bin/gatehouse" serve & gh=$!
"$tmp/bare" -addr 127.0.0.1:18090 & bare=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:18091/readyz >/dev/null && break; sleep 0.1; done
H=http://127.0.0.1:18091
curl -sf -X POST $H/user -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"Passw0rdX"}' >/dev/null
refresh=$(curl -sf -X POST $H/auth/login -H 'Content-Type: application/json' -d '{"username":"bench@example.com","password":"Passw0rdX"}')
access=$(curl -sf $H/auth/accesstoken -H "Authorization: Bearer $refresh")
body=$(curl -sf $H/user/2fa -H "Authorization: Bearer $access")
[ "$body" = '{"enabled":false,"methods":[]}' ] || { echo "unexpected body: $body"; exit 1; }
threads=$(( conns < 2 ? 1 : 2 ))
run() { wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$@" | awk '/Requests\/sec/{rps=$2} /^ +50%/{p50=$2} /^ +99%/{p99=$2} END{print rps, p50, p99}'; }
read -r g_rps g_p50 g_p99 < <(run -H "Authorization: Bearer $access" $H/user/2fa)
read -r b_rps b_p50 b_p99 < <(run http://127.0.0.1:18090/user/2fa)
printf 'connections=%s seconds=%s\n' "$conns" "$secs"
printf '%-28s %10s %10s %10s\n' target req/s p50 p99
printf '%-28s %10s %10s %10s\n' "gatehouse GET /user/2fa" "$g_rps" "$g_p50" "$g_p99"
printf '%-28s %10s %10s %10s\n' "bare fasthttp handler" "$b_rps" "$b_p50" "$b_p99"
awk -v g="$g_rps" -v b="$b_rps" 'BEGIN{printf "ratio %.3f\n", g/b}'
