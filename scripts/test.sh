#!/usr/bin/env bash
# Prepare the machine, type-check, run the test suite, print "N passed, N failed[, N skipped]".
# Arguments are passed to vitest. Exit code: vitest's, or 1 if only the type-check failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

tsc_rc=0
npx --no-install tsc --noEmit -p . || tsc_rc=$?
if ((tsc_rc != 0)); then
  echo "test: type-check failed (tsc exit code $tsc_rc); running the tests anyway" >&2
fi

json=$(mktemp "${TMPDIR:-/tmp}/ployz-vitest.XXXXXX.json")
trap 'rm -f "$json"' EXIT

vitest_rc=0
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$json" "$@" || vitest_rc=$?

if [[ -s "$json" ]]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
    let line = `${r.numPassedTests || 0} passed, ${r.numFailedTests || 0} failed`;
    if (skipped > 0) line += `, ${skipped} skipped`;
    console.log(line);
  ' "$json"
else
  echo "test: vitest wrote no JSON report (exit code $vitest_rc)" >&2
  echo "0 passed, 0 failed"
  ((vitest_rc != 0)) || vitest_rc=1
fi

if ((vitest_rc != 0)); then exit "$vitest_rc"; fi
if ((tsc_rc != 0)); then exit 1; fi
exit 0
