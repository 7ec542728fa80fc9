#!/bin/sh
# Rebuilds the committed AssemblyScript WebAssembly modules from their sources, reproducibly:
# each folder's toolchain comes from its package-lock.json (npm ci, the npm registry only), and
# asc with the same version, sources and options writes the same bytes.
#
#   sdk/assemblyscript/build.sh           rebuild every committed .wasm in place
#   sdk/assemblyscript/build.sh --check   rebuild into a temporary folder and fail (exit 1) if
#                                         any byte differs from the committed file
#
# Needs node and npm. Independent of the Makefile; run from anywhere.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
check=0
[ "${1:-}" = "--check" ] && check=1

# folder (relative to the repository) | asconfig.json in it | the committed module (relative to the folder)
targets="
sdk/assemblyscript|test/asconfig.json|test/codec.wasm
examples/as-totp|asconfig.json|as-totp.wasm
"
# The first-party plugins written with the SDK (plugins/<name>/as, beside the Go reference).
for p in password-default totp email-otp mailer-outbox mailer-smtp passkey; do
	[ -f "$root/plugins/$p/as/asconfig.json" ] && targets="$targets
plugins/$p/as|asconfig.json|$p.wasm"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0

for t in $targets; do
	dir=${t%%|*}
	rest=${t#*|}
	config=${rest%%|*}
	wasm=${rest#*|}
	cd "$root/$dir"
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
	if [ "$check" = 1 ]; then
		out="$tmp/$(echo "$dir/$wasm" | tr / _)"
	else
		out="$root/$dir/$wasm"
	fi
	./node_modules/.bin/asc --config "$config" --baseDir . --outFile "$out" >/dev/null 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		echo "FAIL  $dir: asc failed" >&2
		exit 1
	}
	size=$(wc -c <"$out" | tr -d ' ')
	if [ "$check" = 1 ]; then
		if cmp -s "$out" "$root/$dir/$wasm"; then
			echo "ok    $dir/$wasm ($size bytes, reproduced byte for byte)"
		else
			echo "FAIL  $dir/$wasm: the rebuilt module ($size bytes) differs from the committed one; run sdk/assemblyscript/build.sh and commit" >&2
			failed=1
		fi
	else
		echo "built $dir/$wasm ($size bytes)"
	fi
done
exit $failed
