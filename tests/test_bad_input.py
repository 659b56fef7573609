"""Bad input never shows a traceback: junk in every page's URL keeps the defaults, a failed
run on a shared server keeps its traceback in the server log, and a broken data file is
named on the page next to the source used instead."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys

import pytest

from dlplay import course, data
from tests.conftest import ROOT
from .test_data import _tiny_mnist

# Every page with settings (all but the welcome, the Runs page and Inside, whose settings need a trained
# run first, and the Exercises, whose one is the exercise: tested apart) and the prefix of its settings' keys,
# from the course table; the playground takes its own (tested apart).
# (The Assignment and Teacher pages keep no settings in the URL: the assignment's code is tested apart.)
PAGES = {p.path.removeprefix("pages/").removesuffix(".py"): p.key for p in course.COURSE
         if p.key not in ("home", "runs", "inside", "pg", "ex", "assign", "teach")}
# What a URL can carry that no setting accepts: non-finite, huge, negative, wrong type, overlong.
BAD = ["inf", "-inf", "nan", "NaN", "1e308", "-1e308", "1" + "0" * 400, "10**400", "-1", "-99999999", "1e-400",
       "abc", "", "None", "[1, 2]", "0x10", "½", "true", "x" * 100_000, "9" * 5000, "1,2,3", "\x00"]
# … except where a setting rightly takes one of them: a reward of −1 is a reward.
VALID_THERE = {"rl-rstep": {"-1": -1.0}, "rl-rgoal": {"-1": -1.0}, "rl-rpit": {"-1": -1.0}}


def _settings(node, prefix: str, out: dict | None = None) -> dict:
    """Every input widget of the page whose key starts with `prefix-`, with its value."""
    out = {} if out is None else out
    children = getattr(node, "children", None) or {}
    for child in (children.values() if isinstance(children, dict) else children):
        _settings(child, prefix, out)
    key = getattr(node, "key", None)
    if (isinstance(key, str) and key.startswith(f"{prefix}-") and not key.endswith("-seeds")  # (not in the URL)
            and type(node).__name__ not in ("Button", "UnknownElement") and hasattr(node, "value")
            and not hasattr(node.value, "to_dict")):  # a data editor's table lives in the session, not the URL
        out[key] = node.value
    return out


def _open(apptest, page: str, query: dict | None = None):
    """The app as a visitor opens it: app.py (which reads the URL first), then the page."""
    at = apptest("app.py").run()
    at.switch_page(f"pages/{page}.py")
    at.query_params.update(query or {})
    return at.run()


@pytest.fixture
def no_runs(tmp_path, monkeypatch):
    """An empty run store: a page opened with no run of its own would show the last run trained
    with the settings in its address bar (`ui.runs.adopt_last`), and other tests leave runs."""
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_bad_url_values_keep_every_setting_at_its_default(apptest, page, no_runs):
    prefix = PAGES[page]
    clean = _open(apptest, page)
    defaults = _settings(clean._tree, prefix)
    assert len(defaults) >= (4 if page == "vision/compare" else 5) and not clean.exception
    for shift in range(3):  # every setting gets three of the bad values; together they cover BAD
        query = {key: BAD[(3 * i + 7 * shift) % len(BAD)] for i, key in enumerate(defaults)}
        at = _open(apptest, page, {**query, "ws": "../" * 1000})  # and a workspace key that is no key
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        taken = {key: VALID_THERE[key][value] for key, value in query.items() if value in VALID_THERE.get(key, {})}
        assert _settings(at._tree, prefix) == {**defaults, **taken}


def test_the_exercises_page_opens_its_first_exercise_for_a_name_it_does_not_know(apptest):
    for value in ("../../etc/passwd", "x" * 10_000, "inf", ""):
        at = _open(apptest, "exercises", {"ex": value})
        assert not at.exception and not at.error, value
        assert at.selectbox(key="ex-id").value == "perceptron" and at.query_params["ex"] in ("perceptron", ["perceptron"])


def test_an_assignment_link_with_a_bad_code_says_so(apptest, no_runs):
    for value in ("../../etc/passwd", "x" * 10_000, "' OR 1=1 --", "\x00"):
        at = _open(apptest, "assignment", {"assignment": value})
        assert not at.exception, value[:20]
        said = [m.value for m in [*at.error, *at.info]]  # (an overlong value never reaches the page: app.py drops it)
        assert any("No assignment has this link" in m or "No assignment yet" in m for m in said), value[:20]


def test_an_integer_setting_given_infinity_keeps_its_default(apptest):
    """Streamlit's own integer number_input raises OverflowError on inf (app.py removes it first)."""
    for value in ("inf", "-Infinity", "1e999", "1" + "0" * 400):
        at = _open(apptest, "digit_classifier", {"mlp-epochs": value, "mlp-layers": "3"})
        assert not at.exception, (value, [e.value for e in at.exception])
        assert at.number_input(key="mlp-epochs").value == 3 and at.slider(key="mlp-layers").value == 3
        assert "mlp-epochs" not in at.query_params, "the address bar is cleaned"


def test_several_bad_values_for_a_multiselect(apptest):
    at = _open(apptest, "scratch/regression", {"regsel-depth": ["inf", "nan", "x" * 10_000],
                                       "regsel-lr": ["-1", "1e308", "0.003"]})  # the one valid value is taken
    assert not at.exception and not at.error
    assert at.multiselect(key="regsel-lr").value == [0.003]
    assert at.multiselect(key="regsel-depth").value == [1, 2]


def test_playground_with_the_worst_url_through_the_app(apptest):
    at = _open(apptest, "playground/playground", {"noise": "inf", "learningRate": "nan", "networkShape": "1e308,-3",
                                       "batchSize": "-1e308", "seed": "x" * 100_000, "dataset": "\x00"})
    assert not at.exception and at.session_state["pg:state"].network_shape == (8, 1)


# --- a failed run's traceback: on the page at home, in the server log on a shared server -------------

def _failing_page():
    import streamlit as st

    from dlplay.jobs import get_scheduler
    from dlplay_app.ui.live import job_status

    def boom(job):
        open("/nonexistent/dlplay-secret-dir/weights.pt")  # a server path in the traceback

    if "boom" not in st.session_state:
        job = get_scheduler().submit(boom, session_id="bad-input-test", name="boom")
        job.wait(10)
        st.session_state["boom"] = job
    job_status(st.session_state["boom"])


def _texts(at) -> str:
    kinds = ("markdown", "caption", "code", "error", "warning", "info", "text", "exception")
    return "\n".join(str(getattr(el, "value", "")) for kind in kinds for el in at.get(kind))


def test_shared_server_shows_the_message_and_logs_the_traceback(monkeypatch, caplog):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DLPLAY_SHARED", "1")
    caplog.set_level(logging.ERROR, logger="dlplay_app.ui.live")
    at = AppTest.from_function(_failing_page, default_timeout=30).run()
    assert not at.exception
    assert at.error[0].value.startswith("FileNotFoundError: [Errno 2] No such file or directory")
    assert not at.expander, "no Technical details expander on a shared server"
    assert "Traceback" not in _texts(at) and str(ROOT) not in _texts(at)
    assert "details are in the server log" in _texts(at)
    at.run()  # redrawn: logged once per job, not once per redraw
    logged = [r.getMessage() for r in caplog.records if r.name == "dlplay_app.ui.live"]
    assert len(logged) == 1 and "Traceback (most recent call last)" in logged[0]
    assert "dlplay-secret-dir" in logged[0] and str(ROOT) in logged[0]


def test_personal_machine_keeps_the_technical_details(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("DLPLAY_SHARED", raising=False)
    at = AppTest.from_function(_failing_page, default_timeout=30).run()
    assert not at.exception and at.error[0].value.startswith("FileNotFoundError")
    assert [e.label for e in at.expander] == ["Technical details"]
    assert "Traceback (most recent call last)" in at.code[0].value and "dlplay-secret-dir" in at.code[0].value


def _fake_venv(tmp_path):
    """A venv whose python prints its arguments (and answers setup's version check as this Python does:
    a venv of another Python is made again); stamped so setup.sh installs nothing."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\n[ "$1" = -c ] && exec {sys.executable} "$@"\necho "ARGS: $*"\n')
    python.chmod(0o755)
    reqs = b"".join((ROOT / f).read_bytes() for f in ("requirements.txt", "requirements-music.txt",
                                                        "requirements-cluster.txt", "requirements-dev.txt",
                                                        "pyproject.toml"))
    (venv / ".installed-app").write_text(hashlib.sha256(reqs).hexdigest() + "\n")
    return venv


@pytest.mark.parametrize("shared", ["1", ""])
def test_app_sh_turns_error_details_off_only_on_a_shared_server(tmp_path, shared):
    if subprocess.run(["dpkg", "-s", "dataset-fashion-mnist"], capture_output=True).returncode:
        pytest.skip("setup.sh would try to install dataset-fashion-mnist")
    env = {**os.environ, "DLPLAY_VENV": str(_fake_venv(tmp_path)), "DLPLAY_SHARED": shared}
    out = subprocess.run(["bash", "scripts/app.sh", "--server.port", "9999"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    args = re.search(r"ARGS: (.*)", out.stdout).group(1).split()
    assert args[:2] == ["-m", "dlplay_app.serve"] and "--server.port" in args
    assert ("--client.showErrorDetails=none" in args) == bool(shared)


def test_docker_image_is_a_shared_server_without_error_details(monkeypatch):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ENV .*DLPLAY_SHARED=1", dockerfile, re.M)
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    assert cmd.startswith('CMD ["dlplay"') and '"--shared"' in cmd  # the command's --shared: no error details
    from dlplay_app import serve

    passed = []
    monkeypatch.setattr(serve, "main", passed.extend)
    monkeypatch.setenv("DLPLAY_SHARED", "")  # put back after the test (cli sets it)
    serve.cli(["--shared", "--port=8501"])
    assert os.environ["DLPLAY_SHARED"] == "1" and "--client.showErrorDetails=none" in passed and "--server.port=8501" in passed


def test_app_on_a_shared_server_redacts_uncaught_errors(apptest, monkeypatch):
    """However it is started (`streamlit run app.py` too), a shared server shows no traceback."""
    import streamlit as st

    before = st.get_option("client.showErrorDetails")
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    try:
        at = apptest("app.py").run()
        assert not at.exception
        assert st.get_option("client.showErrorDetails") == "none"
    finally:
        st.set_option("client.showErrorDetails", before)


# --- a broken data file on the page -----------------------------------------------------------------

def test_page_names_a_broken_file_and_trains_on_the_fallback(apptest, tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    paths = _tiny_mnist(tmp_path / "MNIST" / "raw")
    paths["train-images-idx3-ubyte"].write_bytes(paths["train-images-idx3-ubyte"].read_bytes()[:100])
    data.clear_cache()
    try:
        at = apptest("pages/digit_classifier.py").run()
    finally:
        data.clear_cache()
    assert not at.exception and not at.error
    warning = next(w.value for w in at.warning if "truncated" in w.value)
    assert "MNIST/raw/train-images-idx3-ubyte.gz is truncated — re-download it or delete it" in warning
    assert "using the bundled sample instead" in warning, "the problem sits next to the fallback note"
    assert any("4,000 training" in c.value for c in at.caption)


# --- the same in a real browser, against a real server -------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("path, heading, kept", [
    ("/digit_classifier?mlp-epochs=inf&mlp-dropout=nan&mlp-layers=3&mlp-act=" + "x" * 5000,
     "Digit classifier", "mlp-layers=3"),
    ("/perceptron?pc-seed=-1e999&pc-n=10**400", "Perceptron", None),
    ("/playground?noise=inf&learningRate=nan&batchSize=1e308&networkShape=3,2&seed=" + "9" * 5000,
     "2-D playground", "networkShape=3%2C2"),
])
def test_bad_urls_in_a_browser_render_the_page_and_clean_the_address(app_server, page, path, heading, kept):
    page.goto(app_server + path)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # widgets seeded and the URL rewritten
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.content()
    assert "inf" not in page.url and "nan" not in page.url and len(page.url) < 1000
    if kept:
        assert kept in page.url, "a good value beside the bad ones is kept"
