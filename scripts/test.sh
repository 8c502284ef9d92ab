#!/usr/bin/env bash
# Set up everything (with the [train], [postgres] and [ray] extras, so fine-tuning, the Postgres
# stores and the Ray batch engine are tested too), install the servers the tests start (scripts/_test_services.sh) and run
# the test suite. pytest exit code 5 (no tests collected) fails.
source "$(dirname "$0")/_venv.sh" "[test,train,postgres,ray,openai]"
source scripts/_test_services.sh
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$rc"
