"""Playground networks as stored runs (save, reopen exactly, train as a job) and sweeps:
one setting, several values, one run each, collected into small multiples."""
from __future__ import annotations

import numpy as np
import pytest

from dlplay.playground import Playground, PlaygroundState, lesson, sweep
from dlplay.playground.custom import from_points
from dlplay.runs import get_store
from dlplay.work import Visitor

WS = "test-playground"
ME = Visitor(WS, "sweep-test")


def grid_outputs(sim):
    return sim.boundary(30)["output"]


def three_blobs(n=120, seed=2):
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 3, n)
    angle = 2 * np.pi * k / 3
    pts = np.stack([3 * np.cos(angle), 3 * np.sin(angle)], 1) + rng.normal(0, 0.7, (n, 2))
    return from_points(np.clip(pts, -6, 6), k.tolist(), names=["r", "g", "b"])


# --- a network on screen as a stored run ----------------------------------------------------------------
def test_save_and_load_rebuild_the_network_exactly():
    state = PlaygroundState().replace(dataset="xor", network_shape=(6, 4), learning_rate=0.1)
    sim = Playground(state)
    for _ in range(15):  # one history row per step, as the page's Step and Play make them
        sim.step()
    run_id = lesson.save_run(sim, WS)
    run = get_store().get(run_id)
    assert run.state == "done" and run.has_model and run.page == "pg"
    assert "test accuracy · test loss" in run.headline and run.summary["epoch"] == 15
    rows = get_store().metrics(run_id)
    assert [r["epoch"] for r in rows] == [h[0] for h in sim.history] == list(range(16))
    assert rows[-1]["val_loss"] == pytest.approx(sim.test_loss) and "val_acc" in rows[-1]

    loaded_state, loaded = lesson.load_run(run_id, WS)
    assert loaded_state == state and loaded.epoch == 15 and loaded.history == sim.history
    assert np.array_equal(grid_outputs(loaded), grid_outputs(sim))
    assert np.array_equal(loaded.test_pts, sim.test_pts) and loaded.test_loss == sim.test_loss
    sim.step(5)
    loaded.step(5)  # training goes on from the same point, the same way
    assert np.array_equal(grid_outputs(loaded), grid_outputs(sim))
    with pytest.raises(KeyError):
        lesson.load_run(run_id, "another-workspace")


def test_custom_data_is_kept_with_its_run():
    data = three_blobs()
    sim = Playground(data.state(PlaygroundState()).replace(network_shape=(5,), features=("x", "y")), data=data.data)
    sim.step(10)
    with pytest.raises(ValueError, match="saved with that data"):
        lesson.save_run(sim, WS)
    run_id = lesson.save_run(sim, WS, data=data)
    run = get_store().get(run_id)
    assert run.dataset == "drawn points (120 points, yours)" and run.spec["data"]["classes"] == ["r", "g", "b"]
    _, loaded = lesson.load_run(run_id, WS)
    out = grid_outputs(loaded)
    assert out.shape == (30, 30, 3) and np.array_equal(out, grid_outputs(sim))
    assert loaded.accuracy("test") == sim.accuracy("test")


# --- sweeps -----------------------------------------------------------------------------------------------
def test_values_come_from_the_controls_menus():
    assert sweep.values("learning_rate", 0.01, 0.3, 4) == [0.01, 0.03, 0.1, 0.3]
    assert sweep.values("learning_rate", 0.0001, 10, 3) == [0.0001, 0.03, 10.0]
    assert sweep.values("width", 1, 8, 4) == [1, 3, 6, 8]
    assert sweep.values("noise", 0, 50, 20) == list(range(0, 55, 5))  # fewer when the range holds fewer
    assert sweep.values("regularization_rate", 0.02, 0.05, 2) == [0.03]
    state = PlaygroundState()
    assert sweep.apply(state, "width", 3).network_shape == (3, 3, 3)
    assert sweep.apply(state, "regularization_rate", 0.1).regularization == "L2"
    with pytest.raises(KeyError):
        sweep.values("momentum", 0, 1, 3)


def test_a_sweep_of_four_learning_rates_gives_four_runs_maps_and_losses():
    state = PlaygroundState().replace(dataset="gauss", network_shape=(4,), features=("x", "y"))
    vals = sweep.values("learning_rate", 0.001, 0.3, 4)
    assert vals == [0.001, 0.01, 0.03, 0.3]
    started = sweep.start(ME, state, "learning_rate", vals, epochs=6)
    assert sweep.wait(started, timeout=60)
    ids = started.run_ids
    results = sweep.results(started)
    assert len(ids) == 4 and [r["run"] for r in results] == ids
    assert [r["value"] for r in results] == vals and all(r["state"] == "done" for r in results), results
    assert all(r["map"].shape == (lesson.MAP_DENSITY, lesson.MAP_DENSITY) for r in results)
    losses = [r["test_loss"] for r in results]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]  # 0.3 learns in 6 epochs, 0.001 hardly moves
    assert all(0 <= r["accuracy"] <= 1 and r["epoch"] == 6 for r in results)
    runs = [get_store().get(i) for i in ids]
    assert all(r.brief.endswith("6 epochs") and r.dataset.startswith("Gaussian (500 points") for r in runs)
    assert {r.settings["sweep"] for r in runs} == {runs[0].settings["sweep"]}
    rows = get_store().metrics(ids[-1])
    assert [r["epoch"] for r in rows] == list(range(7)) and {"val_loss", "val_acc"} <= set(rows[-1])
    # a run trained as a job opens like a saved one, and exports a PyTorch script
    _, sim = lesson.load_run(ids[-1], WS)
    assert np.allclose(sim.boundary(lesson.MAP_DENSITY)["output"], results[-1]["map"])
    from dlplay.runs import export

    files = export.files(runs[-1])
    compile(files[f"dlplay-run-{ids[-1]}-pg.py"].decode(), "script.py", "exec")


def test_a_diverging_value_ends_its_run_with_the_reason():
    state = PlaygroundState().replace(dataset="reg-plane", network_shape=(4,), features=("x", "y"))
    started = sweep.start(ME, state, "learning_rate", [0.01, 3.0], epochs=5)
    assert sweep.wait(started, timeout=60)
    ids = started.run_ids
    calm, wild = sweep.results(started)
    assert calm["state"] == wild["state"] == "done" and calm["error"] is None and calm["accuracy"] is None
    assert wild["error"].startswith("Training diverged") and wild["test_loss"] > 1e6 and wild["epoch"] == 1
    assert wild["headline"] == "diverged at epoch 1" and calm["headline"].startswith("test loss ")
    assert [r["epoch"] for r in get_store().metrics(ids[1])] == [0, 1]
