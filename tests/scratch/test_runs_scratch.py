"""The from-scratch lessons as stored runs: a run rebuilt from the store equals the live
one, Stop keeps what was learned, and each run's export script — plain PyTorch, no
dlplay — prints the same figure the page shows."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from dlplay import data, runs
from dlplay.jobs import get_scheduler
from dlplay.runs import export, record
from dlplay.scratch import digits, gates, selection

PYTHON = sys.executable  # the project's venv: torch, safetensors and mlxtend, but the scripts import no dlplay

SMALL = {  # tiny but real runs: a second or two each on 2 cores
    "gates": (gates.LESSON, gates.GateSpec(gate="XOR", hidden=3, pace_s=0)),
    "regsel": (selection.LESSON, selection.SearchSpec(depths=(1,), widths=(4, 8), lrs=(0.1,), l2s=(0.0,), k=3,
                                                      epochs=200)),
    "npdigits": (digits.LESSON, digits.DigitsSpec(hidden=(64,), epochs=1)),
}


def start(page: str, spec=None):
    lesson, default = SMALL[page]
    ds = data.load(digits.DATASET) if page == "npdigits" else None
    run, job = runs.start(lesson, spec or default, workspace="test", session_id="test", ds=ds)
    return run, job


def finish(page: str, spec=None):
    run, job = start(page, spec)
    assert job.wait(120) and job.state == "done", job.error
    return runs.get_store().get(run.id), job.result


def rebuilt(run):
    """The run's result as a later visit gets it: its session gone (no live job), no cached
    result, so the weights and figures come from the files."""
    get_scheduler().release_session("test")
    record._results.drop(run.id)
    assert runs.RECORDER.job(run.id) is None
    return runs.result_of(runs.get_store().get(run.id))


def run_script(run, tmp_path) -> str:
    for name, content in export.files(run).items():
        (tmp_path / name).write_bytes(content)
    script = tmp_path / f"{export.file_stem(run)}.py"
    assert not re.search(r"^\s*(import|from)\s+dlplay", script.read_text(), flags=re.M), "it must not need dlplay"
    out = subprocess.run([PYTHON, script.name], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


# --- rebuilt from the store ----------------------------------------------------------------------

def test_digits_run_rebuilt_from_the_store_equals_the_live_one():
    run, live = finish("npdigits")
    again = rebuilt(run)
    assert again is not live
    assert again.test_acc == live.test_acc and run.headline == f"{live.test_acc:.1%} test accuracy"
    np.testing.assert_array_equal(again.confusion, live.confusion)
    np.testing.assert_array_equal(again.wrong, live.wrong)
    assert (again.mean, again.std, again.history) == (live.mean, live.std, live.history)
    images = data.load(digits.DATASET).x_test[:50].numpy()
    np.testing.assert_array_equal(again.probabilities(images), live.probabilities(images))  # the drawing path


def test_gates_run_rebuilt_from_the_store_equals_the_live_one():
    run, live = finish("gates")
    again = rebuilt(run)
    assert again is not live and (again.gate, again.solved) == ("XOR", True)
    np.testing.assert_array_equal(again.outputs, live.outputs)
    np.testing.assert_array_equal(gates.output_map(again.net)[2], gates.output_map(live.net)[2])
    assert run.headline == "solved (4/4 rows right)"


def test_regression_run_rebuilt_from_the_store_equals_the_live_one():
    run, live = finish("regsel")
    again = rebuilt(run)
    assert again is not live
    assert again.table() == live.table() and len(again.table()) == 2
    assert again.winner_mse == live.winner_mse
    np.testing.assert_array_equal(again.x, live.x)
    curve = np.linspace(-1, 1, 50).reshape(-1, 1)
    np.testing.assert_array_equal(again.best.forward(curve), live.best.forward(curve))


def test_a_diverged_grid_setting_survives_the_store():
    spec = selection.SearchSpec(depths=(1,), widths=(4,), lrs=(0.1, 1e6), l2s=(0.0,), k=2, epochs=50)
    run, live = finish("regsel", spec)
    table = rebuilt(run).table()
    assert table == live.table()
    assert table[-1]["lr"] == 1e6 and table[-1]["cv_mse"] == float("inf") and table[-1]["note"]


# --- Stop keeps the model ----------------------------------------------------------------------------

def wait_for_metrics(job, n: int = 1) -> None:
    while len(job.metrics()) < n:
        assert not job.wait(0.05) or job.state == "running", f"ended before {n} rows: {job.state} {job.error}"


def stop(job) -> None:
    job.cancel()
    assert job.wait(60)


def test_stopped_digits_run_keeps_a_measured_model():
    run, job = start("npdigits", digits.DigitsSpec(hidden=(64,), epochs=30))
    wait_for_metrics(job)
    stop(job)
    assert job.state == "stopped", job.error
    result = job.result
    # Stop lands in the first epoch or, on a busy machine, the next one.
    assert re.match(r"stopped at epoch \d+ of 30 \(step ", result.stopped), result.stopped
    assert result.confusion.sum() == 1000 and result.test_acc > 0.3  # measured like a finished run
    stored = runs.get_store().get(run.id)
    assert stored.state == "stopped" and stored.has_model and stored.status == result.stopped
    assert rebuilt(stored).stopped == result.stopped and rebuilt(stored).test_acc == result.test_acc


def test_stopped_gates_run_keeps_its_network():
    run, job = start("gates", gates.GateSpec(steps=5000, pace_s=0.05))
    wait_for_metrics(job, 2)
    stop(job)
    assert job.state == "stopped"
    step = int(re.match(r"stopped at step ([\d,]+) of 5,000", job.result.stopped).group(1).replace(",", ""))
    assert 0 < step < 5000
    again = rebuilt(runs.get_store().get(run.id))
    assert again.stopped == job.result.stopped
    np.testing.assert_array_equal(again.outputs, job.result.outputs)


def test_stopped_grid_search_keeps_the_best_setting_so_far():
    spec = selection.SearchSpec(depths=(1, 2), widths=(4, 8, 16), lrs=(0.03, 0.1), l2s=(0.0, 0.01), k=3,
                                epochs=300)
    run, job = start("regsel", spec)
    wait_for_metrics(job)
    stop(job)
    assert job.state == "stopped", job.error
    result = job.result
    done = len(result.points)
    assert 1 <= done < 24 and result.stopped == f"stopped after {done} of 24 settings"
    assert result.best.forward(np.zeros((1, 1))).shape == (1, 1)  # the winner so far, retrained
    again = rebuilt(runs.get_store().get(run.id))
    assert again.table() == result.table() and again.stopped == result.stopped


def test_stop_before_anything_was_learned_cancels():
    spec = selection.SearchSpec(depths=(3,), widths=(64,), lrs=(0.1,), l2s=(0.0,), k=10, epochs=2000)
    run, job = start("regsel", spec)
    while job.state == "queued":
        job.wait(0.01)
    stop(job)
    assert job.state == "cancelled"
    assert not runs.get_store().get(run.id).has_model


# --- export scripts --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_digits_script_prints_the_runs_test_accuracy(tmp_path):
    run, live = finish("npdigits")
    out = run_script(run, tmp_path)
    assert f"test accuracy: {live.test_acc:.4f} on 1,000 images" in out, out


@pytest.mark.parametrize("gate,hidden", [("XOR", 3), ("XOR", 1)])
def test_gates_script_prints_the_truth_table_and_verdict(tmp_path, gate, hidden):
    run, live = finish("gates", gates.GateSpec(gate=gate, hidden=hidden, pace_s=0, steps=1000))
    out = run_script(run, tmp_path)
    printed = [float(v) for v in re.findall(r"-> ([\d.]+)", out)]
    assert printed == [round(v, 4) for v in live.outputs], out
    assert out.strip().endswith(f"{gate} {'solved' if live.solved else 'not solved'}")
    assert live.solved == (hidden == 3)


def test_regression_script_prints_the_winners_mse(tmp_path):
    run, live = finish("regsel")
    out = run_script(run, tmp_path)
    assert f"winner's MSE on the 60 points: {live.winner_mse:.6f}" in out, out
