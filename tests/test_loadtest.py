"""`python -m dlplay.loadtest`, small: two browser sessions train at once on the digit
page (bundled 5k sample, 1 epoch), both finish, and the figures it prints are real."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dlplay.loadtest.__main__ import parse
from dlplay.loadtest.run import check_local
from tests.conftest import ROOT

pytestmark = pytest.mark.browser


def test_two_sessions_train_at_once_and_the_figures_are_printed(tmp_path):
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, "-m", "dlplay.loadtest", "--sessions", "2", "--after", "16", "--cpu-window", "4",
         "--timeout", "240", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=420)
    print(proc.stdout[-3000:], proc.stderr[-3000:])
    assert proc.returncode == 0, proc.stderr[-3000:]
    f = json.loads(out.read_text())
    assert f["finished"] == 2 and f["failed"] == []
    assert 0 < f["first_point_p50_s"] <= f["first_point_p95_s"] < 60
    assert 0 < f["finish_p50_s"] <= f["finish_p95_s"] < 240
    assert f["first_point_p50_s"] <= f["finish_p95_s"]
    rss = f["rss_mb"]
    assert 0 < rss["start"] < rss["before"] <= rss["peak"], rss
    assert rss["after"] <= rss["peak"]
    assert 0 <= f["cpu_after_percent"] < 50, "the server idles once every tab has closed"
    assert "sessions finished         2 of 2" in proc.stdout
    assert "time to first point       p50" in proc.stdout


def test_it_talks_only_to_this_machine():
    with pytest.raises(SystemExit, match="only talks to this machine"):
        check_local("http://example.org:8501")
    check_local("http://127.0.0.1:8501")
    opts, _ = parse(["--sessions", "3", "--after", "5"])
    assert opts.sessions == 3 and opts.after_s == 5 and opts.cpu_window_s == 5
    with pytest.raises(SystemExit):
        parse(["--sessions", "0"])
