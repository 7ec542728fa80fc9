#!/usr/bin/env bash
# mk/test-all.sh SUITE...: run each make target named (the suites of `make test`) in turn, every
# one of them even when an earlier one fails, then print which passed and which failed. Exits 1
# when any failed, 0 when all passed. A failing suite never hides the results of the others.
set -u
cd "$(dirname "$0")/.."
make=${MAKE:-make}
passed=()
failed=()
for suite in "$@"; do
	echo
	echo "=== make $suite"
	start=$SECONDS
	if "$make" --no-print-directory "$suite"; then
		passed+=("$suite ($((SECONDS - start)) s)")
	else
		failed+=("$suite ($((SECONDS - start)) s)")
	fi
done
echo
echo "=== make test: ${#passed[@]} of $# suites passed"
for s in "${passed[@]}"; do echo "    pass  $s"; done
for s in "${failed[@]}"; do echo "    FAIL  $s"; done
[ ${#failed[@]} -eq 0 ]
