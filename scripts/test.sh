#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# Tests read real datasets from ../shared/data when it is there (see tests/conftest.py).
exec "${DLPLAY_VENV:-.venv}/bin/python" -m pytest "$@"
