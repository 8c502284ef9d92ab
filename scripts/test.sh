#!/usr/bin/env bash
# Set up everything (with the [train] extra, so the fine-tuning pipeline is tested too) and run
# the test suite. pytest exit code 5 (no tests collected) fails.
source "$(dirname "$0")/_venv.sh" "[test,train]"
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$rc"
