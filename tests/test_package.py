"""dlplay as a package (issue 27, part 4): `pip install .` gives a wheel holding the code, the assets, the
run store's migrations, the page scripts and the server's settings, with the `dlplay` command and the
extras; installed away from this checkout, `dlplay --help` lists its options and the server it starts
finds everything it needs from the installed copy."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import pytest

from tests.conftest import ROOT, SHARED_DATA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel `pip wheel .` builds (with the venv's setuptools: no download), installed without
    its dependencies (the venv has them) into a folder of its own."""
    tmp = tmp_path_factory.mktemp("package")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(tmp / "wheel")], check=True, cwd=tmp, capture_output=True, timeout=300)
    [wheel] = (tmp / "wheel").glob("dlplay-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(tmp / "site"),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    return wheel, tmp / "site"


def _env(site) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PYTHONPATH": str(site)}  # the installed copy, not this checkout


def test_the_wheel_holds_what_an_installed_copy_reads(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("dlplay/assets/mazes/", "dlplay/assets/reviews/examples.json", "dlplay/runs/migrations/env.py",
                   "dlplay/runs/migrations/versions/0001_baseline.py", "dlplay_app/app.py",
                   "dlplay_app/pages/vision/cnn.py", "dlplay_app/.streamlit/config.toml", "dlplay/registry.py"):
        assert any(n.startswith(needed) for n in names), needed
    assert not any(n.startswith(("tests/", "ui/", "pages/")) for n in names), "no top-level ui or pages package"
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: torch==2.14.1" in meta and "License-Expression: MIT" in meta
    for extra, pin in (("music", "music21==10.5.1"), ("cluster", "ray==2.60.0"), ("dev", "pytest==9.2.0")):
        assert f"Provides-Extra: {extra}" in meta and f'{pin}; extra == "{extra}"' in meta
    assert "ray" not in meta.split("Provides-Extra")[0], "Ray only with the cluster extra"
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "dlplay = dlplay_app.serve:cli" in entry


def test_the_dlplay_command_lists_its_options(installed, tmp_path):
    _, site = installed
    out = subprocess.run([str(site / "bin" / "dlplay"), "--help"], cwd=tmp_path, env=_env(site),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for option in ("--port", "--address", "--data-dir", "--home", "--shared", "--version"):
        assert option in out.stdout, option
    version = subprocess.run([str(site / "bin" / "dlplay"), "--version"], cwd=tmp_path, env=_env(site),
                             capture_output=True, text=True, timeout=120)
    from dlplay import __version__

    assert version.stdout.strip() == f"dlplay {__version__}"


def test_the_installed_server_serves_from_another_folder(installed, tmp_path):
    _, site = installed
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([str(site / "bin" / "dlplay"), "--port", str(port), "--address", "127.0.0.1",
                             "--home", str(tmp_path / "home"), "--data-dir", str(SHARED_DATA), "--shared"],
                            cwd=tmp_path, env={**_env(site), "HOME": str(tmp_path)}, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline, body = time.time() + 90, None
        while time.time() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dlplay/health", timeout=5) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.5)
        assert body == {"status": "ok", "store": "ok · 0 runs", "cluster": "not configured"}, \
            (tmp_path / "server.log").read_text()[-3000:]
        started = [line for line in (tmp_path / "server.log").read_text().splitlines() if "server starting" in line]
        assert started and "shared=True" in started[0] and f"data={SHARED_DATA}" in started[0]
        assert (tmp_path / "home" / "runs.db").is_file(), "--home is where its runs go"
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
    # The installed copy's own files: a maze from its assets, the pages beside its app.
    probe = ("import dlplay, dlplay_app, dlplay.course as c, dlplay.rl.worlds as w; "
             "print(dlplay.__file__, c.APP_DIR, len(w.builtin('maze').rows), (c.APP_DIR / c.page('cnn').path).is_file())")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=_env(site), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    package, app_dir, maze_rows, page = out.stdout.split()
    assert package.startswith(str(site)) and app_dir.startswith(str(site)) and int(maze_rows) > 3 and page == "True"
