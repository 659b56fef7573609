"""Setup on a machine that is not this project's CI (issue 27, part 2): a half-made virtual environment
— a failed `python3 -m venv` on a stock Debian leaves bin/python without pip, and every later run then
failed with "No module named pip" — or one whose interpreter is gone is made again; a good one is kept;
a Python older than 3.11 is named, with what to install. (`scripts/venv.sh`, called by setup.sh.)"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # each makes a venv with pip (seconds)


def venv_sh(venv, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "scripts" / "venv.sh")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DLPLAY_VENV": str(venv), "PYTHON": sys.executable, **env})


def has_pip(venv) -> bool:
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], capture_output=True).returncode == 0


def test_a_venv_left_without_pip_is_made_again_and_a_good_one_is_kept(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / "half-made").touch()
    assert not has_pip(venv)
    out = venv_sh(venv)
    assert out.returncode == 0, out.stderr
    assert "unusable" in out.stdout and has_pip(venv) and not (venv / "half-made").exists()
    (venv / "kept").touch()
    again = venv_sh(venv)
    assert again.returncode == 0 and "unusable" not in again.stdout and (venv / "kept").exists()


def test_a_venv_whose_interpreter_is_gone_is_made_again(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(tmp_path / "no-such-python")
    out = venv_sh(venv)
    assert out.returncode == 0, out.stderr
    assert has_pip(venv)


def test_an_old_python_is_named_with_what_to_install(tmp_path):
    old = tmp_path / "python3"
    old.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.9.2' && exit 0\nexit 1\n")
    old.chmod(0o755)
    out = venv_sh(tmp_path / "venv", PYTHON=str(old))
    assert out.returncode == 1 and not (tmp_path / "venv").exists()
    assert "dlplay needs Python 3.11 or newer; found Python 3.9.2" in out.stderr
    assert "apt-get install python3 python3-venv" in out.stderr


@pytest.mark.parametrize("root", [True, False])
def test_browser_tests_fail_only_where_setup_could_have_installed_chromium(monkeypatch, root):
    """Without root or sudo, a missing chromium skips the browser tests (with the reason) instead of failing."""
    from tests import conftest

    monkeypatch.setattr(conftest.os, "geteuid", lambda: 0 if root else 1000)
    monkeypatch.setenv("PATH", "")  # no sudo to ask
    assert conftest._may_install() is root
