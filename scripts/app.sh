#!/usr/bin/env bash
# Set up (idempotent) and start dlplay on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
exec "${DLPLAY_VENV:-.venv}/bin/python" -m streamlit run app.py "$@"
