#!/usr/bin/env bash
# Idempotent setup: a venv with the pinned requirements, plus Debian packages when apt is usable.
# Usage: scripts/setup.sh [app|test]   (test also installs the browser and test tools)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-app}"
VENV="${DLPLAY_VENV:-.venv}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"

# fluidsynth + fluid-soundfont-gm: the music page plays generated pieces with a General MIDI piano;
# bubblewrap: the sandbox learner code runs in (dlplay.exercises.sandbox)
apt_packages=(dataset-fashion-mnist fluidsynth fluid-soundfont-gm bubblewrap)
# A stock Debian's python3 makes no venv without python3-venv (and pip from it)
[ -n "$PY" ] && "$PY" -c 'import ensurepip, venv' 2>/dev/null || apt_packages+=(python3-venv python3-pip)
# postgresql: tests/test_runs_postgres.py starts a server of its own (skipped without it)
[ "$MODE" = test ] && apt_packages+=(chromium chromium-driver postgresql)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
  echo "setup: installing Debian packages: ${missing[*]}"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"; } >/dev/null; then
    echo "setup: could not install ${missing[*]} with apt; continuing without them" >&2
  fi
fi

bash scripts/venv.sh
# dlplay with every extra a course uses (music, cluster); the tests add the dev extra's tools.
reqs=(-r requirements.txt -r requirements-music.txt -r requirements-cluster.txt)
[ "$MODE" = test ] && reqs+=(-r requirements-dev.txt)
stamp="$VENV/.installed-$MODE"
want="$(cat requirements.txt requirements-music.txt requirements-cluster.txt requirements-dev.txt pyproject.toml |
        sha256sum | cut -d' ' -f1)"
# The test set of packages includes the app's, so either stamp will do for the app.
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] &&
   { [ "$MODE" = test ] || [ "$(cat "$VENV/.installed-test" 2>/dev/null)" != "$want" ]; }; then
  echo "setup: installing Python packages (${reqs[*]}; the first time takes a few minutes)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${reqs[@]}"
  # dlplay itself, editable: the `dlplay` command runs this checkout (built with the venv's setuptools: no download)
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
