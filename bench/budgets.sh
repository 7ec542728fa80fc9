#!/usr/bin/env bash
# The lean-at-the-edge budgets of issue 12, measured from the built binary (bench/budgets/main.go:
# binary size, start to ready on a new and a warm data folder, idle RSS, the idle cost of one more
# plugin, RSS under the login + token load), each printed with its figure and OK or OVER: first
# with the five first-party plugins the budgets are set for (GATEHOUSE_SKIP_PLUGINS=passkey),
# then with every embedded plugin (the default: + passkey, a Go plugin).
# Usage: bench/budgets.sh [rounds]   (run from the repository root after make build)
set -euo pipefail
rounds=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/budgets" ./bench/budgets
"$tmp/budgets" -bin bin/gatehouse -runs "$rounds" -variant "5 first-party" -env GATEHOUSE_SKIP_PLUGINS=passkey
"$tmp/budgets" -bin bin/gatehouse -runs "$rounds" -variant "+ passkey"
