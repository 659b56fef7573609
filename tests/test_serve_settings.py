"""The server's settings hold wherever it is started from (issue 27, part 3): `python -m dlplay_app.serve`, run
from another folder with a home of its own (a systemd unit, a teacher's script), ends up with the
project's settings from .streamlit/config.toml — no garbage collection after every rerun, no file
watcher crawling the venv, no usage statistics, the upload cap — as Streamlit reads the config file
beside the app's script. The launcher runs up to the moment it would serve, and prints the effective
options there; a flag given to it still wins."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

from dlplay import logs
from tests.conftest import ROOT

PROBE = """
import sys
from streamlit import config
from streamlit.web import bootstrap
import dlplay_app.serve as serve

def report(*args, **kwargs):
    print({k: config.get_option(k) for k in ("runner.postScriptGC", "server.fileWatcherType",
                                             "browser.gatherUsageStats", "server.maxUploadSize", "server.port",
                                             "logger.messageFormat")})
    raise SystemExit(0)

bootstrap.run = report  # everything before serving is the launcher's own
serve.warm_imports = lambda: []
serve.main(sys.argv[1:])
"""


def effective_options(cwd, *flags: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(cwd)}  # no ~/.streamlit of the machine's
    out = subprocess.run([sys.executable, "-c", PROBE, *flags], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


def test_the_server_started_from_another_folder_has_the_projects_settings(tmp_path):
    assert not (tmp_path / ".streamlit").exists()
    options = effective_options(tmp_path, "--server.port=8765")
    assert options == {"runner.postScriptGC": False, "server.fileWatcherType": "none",
                       "browser.gatherUsageStats": False, "server.maxUploadSize": 12, "server.port": 8765,
                       "logger.messageFormat": logs.FORMAT}  # Streamlit's lines in dlplay's one format


def test_streamlits_own_defaults_are_what_the_project_file_replaces(tmp_path):
    """The settings asserted above are not Streamlit's defaults: without the project's file they differ."""
    from streamlit import config

    assert config.get_option.__module__ == "streamlit.config"
    defaults = {k: config._config_options_template[k].default_val  # noqa: SLF001
                for k in ("runner.postScriptGC", "server.fileWatcherType", "server.maxUploadSize")}
    assert defaults["runner.postScriptGC"] is True and defaults["server.fileWatcherType"] != "none"
    assert defaults["server.maxUploadSize"] == 200


LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) [\w.]+: ")


def test_the_launcher_and_every_job_log_one_timestamped_structured_line(tmp_path):
    """The log a teacher reads: the server's start (where its data, store and cluster are) and each
    job's start and end (its run, state, seconds), each line with time, level and source, the
    fields as key=value."""
    probe = PROBE.replace("serve.warm_imports = lambda: []", "serve.warm_imports = lambda: []\n" + JOB)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "DLPLAY_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if " dlplay." in line]
    assert lines and all(LINE.match(line) for line in lines), out.stderr
    start = next(line for line in lines if "server starting" in line)
    assert "shared=False" in start and "data=" in start and f"store={tmp_path / 'home' / 'runs.db'}" in start
    ended = next(line for line in lines if "job ended" in line)
    assert re.search(r"job=\w{12} name=probe state=done seconds=\d+\.\d", ended), ended
    assert any("job started" in line and "name=probe" in line for line in lines)


JOB = """
from dlplay import logs
from dlplay.jobs import Scheduler
logs.configure()
scheduler = Scheduler(max_workers=1)
scheduler.submit(lambda job: 42, session_id="s", name="probe").wait(30)
scheduler.shutdown()
"""
