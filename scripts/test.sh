#!/usr/bin/env bash
# Set up everything and run the test suite. pytest's exit code 5 (no tests collected) fails.
source "$(dirname "$0")/_venv.sh" "[test]"
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$rc"
