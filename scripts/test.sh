#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# Tests read real datasets from ../shared/data when it is there (see tests/conftest.py).
# Two worker processes (pytest-xdist), a test file each at a time: on 2 cores the suite takes about
# 0.66× the time of one process (three workers: no faster). DLPLAY_TEST_WORKERS=0 runs it in this process.
exec "${DLPLAY_VENV:-.venv}/bin/python" -m pytest -n "${DLPLAY_TEST_WORKERS:-2}" --dist loadfile "$@"
