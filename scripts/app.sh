#!/usr/bin/env bash
# Set up (idempotent) and start dlplay on http://localhost:8501
# DLPLAY_SHARED=1 (a server a class shares): uncaught errors show no traceback in the browser
# (they name server paths); the details go to this process's log.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
shared=()
case "${DLPLAY_SHARED:-}" in 1|true|yes) shared=(--client.showErrorDetails=none) ;; esac
exec "${DLPLAY_VENV:-.venv}/bin/python" -m dlplay_app.serve "${shared[@]}" "$@"
