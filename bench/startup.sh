#!/usr/bin/env bash
# Start to ready with a cold and a warm plugin compilation cache, idle RSS, and RSS under load
# (wrk on GET /user/2fa plus concurrent logins), for the built binary.
# Usage: bench/startup.sh   (run from the repository root after make build)
set -euo pipefail
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
addr=127.0.0.1:18093
H=http://$addr
start() { # start DATA CACHE: sets pid and ms (from exec to /readyz 200)
  local t0 t1
  t0=$(date +%s%N)
  GATEHOUSE_ADDR=$addr GATEHOUSE_DATA="$1" GATEHOUSE_PLUGIN_CACHE="$2" GATEHOUSE_REGISTRATION=open \
    GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_ACCESS_TTL=1h "$root/bin/gatehouse" serve >"$tmp/log" 2>&1 & pid=$!
  until curl -sf $H/readyz >/dev/null 2>&1; do sleep 0.005; done
  t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
rss() { awk '/VmRSS/{print int($2/1024)}' /proc/$pid/status; }

start "$tmp/d1" "$tmp/cache"; cold=$ms; stop
start "$tmp/d2" "$tmp/cache"; warm=$ms
sleep 1
idle=$(rss)
curl -sf -X POST $H/user -H 'Content-Type: application/json' -d '{"email":"b@example.com","password":"Passw0rdX"}' >/dev/null
refresh=$(curl -sf -X POST $H/auth/login -H 'Content-Type: application/json' -d '{"username":"b@example.com","password":"Passw0rdX"}')
access=$(curl -sf $H/auth/accesstoken -H "Authorization: Bearer $refresh")
cat > "$tmp/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"username":"b@example.com","password":"Passw0rdX"}'
wrk.headers["Content-Type"] = "application/json"
LUA
wrk -t1 -c4 -d8s -s "$tmp/login.lua" $H/auth/login >/dev/null & w1=$!
wrk -t1 -c8 -d8s -H "Authorization: Bearer $access" $H/user/2fa >/dev/null & w2=$!
peak=0
for _ in $(seq 16); do sleep 0.5; r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; done
wait $w1 $w2 || true
printf 'start to ready, cold compilation cache  %6d ms\n' "$cold"
printf 'start to ready, warm compilation cache  %6d ms\n' "$warm"
printf 'RSS idle                                %6d MiB\n' "$idle"
printf 'RSS under load (peak)                   %6d MiB\n' "$peak"
