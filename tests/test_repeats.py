"""Seed repeats (issue 29 part 2): any lesson trains its setting × N seeds as one unit of work; the page
shows the mean curve with a band and the final figure as mean ± spread."""
from __future__ import annotations


import pytest

from dlplay import course, data, runs
from dlplay.runs import repeats, specs
from dlplay.runs.lesson import lesson_for
from tests.conftest import run_of

NO_SEED = {"ae", "tl", "gan", "gates"}  # (their specs have seeds; they have no one final figure)


@pytest.mark.parametrize("page", sorted(course.lessons()))
def test_every_lesson_can_be_seeded_and_only_the_seed_changes(page):
    spec = lesson_for(page).spec_type()
    assert repeats.seed_path(spec) is not None, f"{page}: no seed to vary"
    three = repeats.seeded(spec, 3)
    assert [repeats.seed_of(s) for s in three] == [repeats.seed_of(spec) + i for i in range(3)]
    flat = [specs.to_dict(s) for s in three]
    path = repeats.seed_path(spec).split(".")
    for d in flat:  # everything but the seed is the setting's
        inner = d
        for name in path[:-1]:
            inner = inner[name]
        inner.pop(path[-1])
    assert flat[0] == flat[1] == flat[2]


def test_every_final_figure_is_in_the_runs_it_names(tmp_path):
    """Each lesson's figure is a number its stored runs carry (a run of every page, tests/stores)."""
    import shutil

    from tests.stores.harvest import _runs
    from tests.test_runs_stored_earlier import STORED

    shutil.copytree(STORED, tmp_path / "home")  # opened where it may be migrated
    by_page = {r.page: r for r in _runs(runs.RunStore(tmp_path / "home"))}
    for page in course.lessons():
        fig = lesson_for(page).figure
        if fig is not None:
            assert fig.value(by_page[page].summary) is not None, (page, fig.key)
    assert sum(lesson_for(p).figure is not None for p in course.lessons()) >= len(course.lessons()) - len(NO_SEED) - 1


def test_the_band_and_the_spread():
    b = repeats.band([([1, 2, 3], [1.0, 2.0, 3.0]), ([1, 2], [3.0, 4.0])])
    assert b.x == [1, 2, 3] and b.mean == [2.0, 3.0, 3.0] and b.count == [2, 2, 1]
    assert b.lo == [1.0, 2.0, 3.0] and b.hi == [3.0, 4.0, 3.0] and b.std[0] == pytest.approx(2 ** 0.5)
    s = repeats.spread([0.975, 0.978, 0.981])
    assert s.text(lambda v: f"{v:.1%}", 100, " points") == "97.8% ± 0.3 points (min–max 97.5%–98.1%, 3 seeds)"
    assert repeats.spread([0.5]).text() == "0.5 (1 seed)"


def test_a_class_server_offers_at_most_five_seeds(monkeypatch):
    monkeypatch.delenv("DLPLAY_SHARED", raising=False)
    assert repeats.max_seeds() == 10
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    assert repeats.max_seeds() == 5


@pytest.mark.slow
def test_three_seeds_of_the_mlp_give_a_band_and_a_spread(apptest):
    data.clear_cache()
    at = apptest("pages/digit_classifier.py").run()
    at.selectbox(key="mlp-dataset").set_value("mnist5k")
    at.slider(key="mlp-layers").set_value(1)
    at.number_input(key="mlp-epochs").set_value(2)
    at.selectbox(key="mlp-seeds").set_value(3)
    at.button(key="mlp-train").click().run()
    assert not at.exception
    group = at.session_state["mlp-repeats"]
    assert group.wait(300) and len(group.run_ids) == 3
    at.run()
    assert not at.exception
    shown = run_of(at, "mlp")
    assert shown.id == group.run_ids[-1]  # the page followed the group to its last run
    members = [runs.get_store().get(i) for i in group.run_ids]
    assert [repeats.group_of(r)["seed"] for r in members] == [0, 1, 2]
    accs = [r.summary["test_acc"] for r in members]
    assert len(set(accs)) == 3, accs  # three seeds, three results
    text = " ".join(m.value for m in at.markdown)
    assert "3 of 3 trained" in text and "test accuracy** over the seeds trained" in text
    assert f"(min–max {min(accs):.1%}–{max(accs):.1%}, 3 seeds)" in text
    assert at.get("plotly_chart") and not any("Settings changed" in i.value for i in at.info)
    print("MLP × 3 seeds, test accuracy:", accs)


def _group(spec, n: int, first_seed: int) -> list[int]:
    """`n` seeds of `spec` from `first_seed`, trained as the page's × N does; their run ids."""
    from dlplay import work
    from dlplay.classify import LESSON
    from dlplay_app.ui.workspace import LOCAL_WORKSPACE

    group = repeats.new_group()
    seq = work.start_runs(work.Visitor(LOCAL_WORKSPACE, "t"), LESSON, repeats.seeded(repeats.with_seed(spec, first_seed), n),
                          ds=data.load("mnist5k"),
                          settings=lambda i, todo: repeats.tag({}, group, i, n, repeats.seed_of(todo[i])))
    assert seq.wait(300) and len(seq.run_ids) == n
    return seq.run_ids


def _verdict(apptest, a: list[int], b: list[int]) -> str:
    at = apptest("pages/runs.py").run()
    at.multiselect(key="runs-chosen").set_value(a + b).run()
    assert not at.exception
    assert at.multiselect(key="runs-sig-A").value == a and at.multiselect(key="runs-sig-B").value == b
    assert len(at.get("plotly_chart")) == 2  # the runs overlaid, and the two groups' means with their bands
    return " ".join(m.value for m in [*at.success, *at.info])


@pytest.mark.slow
def test_is_the_difference_real_noise_over_seeds_and_a_real_one(apptest, monkeypatch, tmp_path):
    """Two groups of the same setting that differ only by their seeds: could be noise; 1 epoch against 3: likely
    real. (MLP 784→16→10 on the 5,000 digits, 3 seeds each.)"""
    from dlplay.classify import ClassifierSpec
    from dlplay.train import TrainConfig

    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))
    one = ClassifierSpec(dataset="mnist5k", hidden=(16,), train=TrainConfig(epochs=1))
    three = ClassifierSpec(dataset="mnist5k", hidden=(16,), train=TrainConfig(epochs=3))
    a, a2, b = _group(one, 3, 0), _group(one, 3, 3), _group(three, 3, 0)
    noise = _verdict(apptest, a, a2)
    assert "could be noise" in noise and "try 5 seeds each" in noise, noise
    real = _verdict(apptest, a, b)
    assert "B is better by" in real and "likely real" in real, real
    print("\nseeds only:", noise, "\n1 vs 3 epochs:", real)
