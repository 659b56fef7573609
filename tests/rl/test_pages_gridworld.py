"""AppTests of the page "Grid-world RL"."""
import time

import pytest

from tests.conftest import chart_titles, job_of, page_texts

PAGE = "pages/rl/gridworld.py"
KEY = "rl"

BLOCKED = "S.#.\n..#.\n..#G"


def board(at) -> str:
    """The click-to-edit board's SVG (a components-v2 widget)."""
    import json

    return "".join(json.loads(c.proto.json)["html"] for c in at.get("bidi_component") if c.proto.json)


def test_defaults_show_the_windy_world_and_its_schedule(apptest):
    at = apptest(PAGE).run()
    assert not at.exception and not at.error
    assert at.selectbox(key=f"{KEY}-world").value == "windy" and at.radio(key=f"{KEY}-method").value == "sarsa"
    titles = chart_titles(at)
    assert titles == ["Exploration over the episodes: constant ε"], titles
    assert "The world — click a cell to edit it" in board(at) and board(at).count("class='rl-cell'") == 7 * 10
    assert "Shortest path from S to G: **15** steps." in page_texts(at)
    assert at.select_slider(key=f"{KEY}-explore-end").disabled
    at.selectbox(key=f"{KEY}-schedule").set_value("exponential").run()
    assert not at.select_slider(key=f"{KEY}-explore-end").disabled
    at.selectbox(key=f"{KEY}-world").set_value("maze").run()
    assert at.text_area(key=f"{KEY}-text").value.splitlines()[0] == "S..........."
    assert "Shortest path from S to G: **12** steps." in page_texts(at)


def test_a_maze_with_no_path_is_reported_before_training(apptest):
    at = apptest(PAGE).run()
    at.text_area(key=f"{KEY}-text").input(BLOCKED).run()
    assert not at.exception
    assert any("no path from S to G" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key=f"{KEY}-train").disabled
    at.text_area(key=f"{KEY}-text").input("...\n..G").run()
    assert any("no start" in e.value for e in at.error) and at.button(key=f"{KEY}-train").disabled
    at.text_area(key=f"{KEY}-text").input("S.x\n..G").run()
    assert any("'x' is not a cell" in e.value for e in at.error) and not at.exception
    at.text_area(key=f"{KEY}-text").input("S..\n..G").run()
    assert not at.error and not at.button(key=f"{KEY}-train").disabled


def test_a_cliff_run_draws_its_values_curves_and_plays_an_episode_back(apptest):
    at = apptest(PAGE).run()
    at.selectbox(key=f"{KEY}-world").set_value("cliff").run()
    at.radio(key=f"{KEY}-method").set_value("qlearning").run()
    at.button(key=f"{KEY}-train").click().run()
    job = job_of(at, KEY)
    assert job.wait(60) and job.state == "done", job.error
    at.run()
    assert not at.exception and not at.error
    run_id = at.session_state[f"run:{KEY}"]
    titles = chart_titles(at)
    assert all(t.startswith(f"Run {run_id} · ") for t in titles), titles
    assert f"Run {run_id} · values V(s) = max Q and the greedy policy" in board(at)
    assert "class='rl-path'" in board(at) and any("steps per episode" in t for t in titles)
    assert "Greedy path: **13 steps** from S to G (shortest: 13)." in page_texts(at)
    assert at.number_input(key=f"{KEY}-episode").value == 500
    assert at.get("download_button")[0].label == "Download the GIF"
    assert at.get("image")[0].captions[0].startswith(f"Run {run_id} · episode 500: 1")
    at.number_input(key=f"{KEY}-episode").set_value(3).run()
    assert not at.exception and at.get("image")[0].captions[0].startswith(f"Run {run_id} · episode 3:")
    assert at.dataframe[0].value.iloc[0]["run"] == run_id  # every run of the page


@pytest.mark.slow
def test_edits_and_rewards_reach_the_agent_while_it_learns(apptest):
    at = apptest(PAGE).run()
    at.selectbox(key=f"{KEY}-world").set_value("maze").run()
    at.radio(key=f"{KEY}-method").set_value("qlearning").run()
    at.select_slider(key=f"{KEY}-episodes").set_value(5000).run()
    at.select_slider(key=f"{KEY}-pace").set_value(50).run()
    at.button(key=f"{KEY}-train").click().run()
    job = job_of(at, KEY)
    assert job.wait_for_events(0, timeout=10, kind="metric")
    world = job.latest("world")
    rows = at.text_area(key=f"{KEY}-text").value.splitlines()
    rows[2] = rows[2][:5] + "#" + rows[2][6:]  # the shortcut walled off
    at.text_area(key=f"{KEY}-text").input("\n".join(rows)).run()
    assert world.rows[2][5] == "#" and world.shortest() == 42
    at.number_input(key=f"{KEY}-rgoal").set_value(10.0).run()
    assert world.current_rewards.goal == 10.0
    assert not any("Settings changed" in i.value for i in at.info), "edits sent to the run are the run's"
    blocked = list(rows)
    blocked[6] = "#" + blocked[6][1:]  # the long way round closed too: refused while it learns
    at.text_area(key=f"{KEY}-text").input("\n".join(blocked)).run()
    assert world.rows[6][0] == "." and any("no path" in e.value for e in at.error)
    deadline = time.time() + 10
    while time.time() < deadline and not any(m.startswith("episode") for m in job.logs()[1:]):
        time.sleep(0.1)
    at.button(key=f"{KEY}-stop").click().run()
    assert job.wait(10) and job.state == "stopped"
    assert len(job.result.layouts) == 2 and job.result.layouts[1].splitlines()[2][5] == "#"
    at.run()
    assert not at.exception and "stopped after episode" in " ".join(i.value for i in at.info)


@pytest.mark.slow
def test_gymnasiums_frozen_lake_trains_and_cannot_be_edited(apptest):
    at = apptest(PAGE).run()
    at.selectbox(key=f"{KEY}-world").set_value("gym-lake").run()
    assert at.text_area(key=f"{KEY}-text").disabled and at.radio(key=f"{KEY}-tool").disabled
    assert at.number_input(key=f"{KEY}-rgoal").disabled
    at.radio(key=f"{KEY}-method").set_value("qlearning").run()
    at.select_slider(key=f"{KEY}-gamma").set_value(0.9).run()
    at.button(key=f"{KEY}-train").click().run()
    job = job_of(at, KEY)
    assert job.wait(60) and job.state == "done", job.error
    at.run()
    assert not at.exception and not at.error
    assert "Greedy path: **6 steps** from S to G (shortest: 6)." in page_texts(at)


def test_a_refusals_reason_stays_until_the_next_edit(apptest):
    """The reason was popped by the live part's first redraw and gone half a second later (issue 25)."""
    at = apptest(PAGE).run()
    at.session_state[f"{KEY}:note"] = "Not sent to the running agent: There is no path from S to G."
    for _ in range(3):  # the page and its live part redraw: the reason stays
        at.run()
        assert [w.value for w in at.warning] == ["Not sent to the running agent: There is no path from S to G."]
    rows = at.text_area(key=f"{KEY}-text").value.splitlines()
    rows[0] = rows[0][:3] + "#" + rows[0][4:]
    at.text_area(key=f"{KEY}-text").input("\n".join(rows)).run()  # the next edit
    assert not at.exception and not at.warning


def test_a_typed_edit_undone_at_once_is_taken_and_a_stale_echo_after_a_click_is_not(apptest):
    """The layout box may send back what it showed before a click (an echo, older than the last
    drawing under load): that never undoes the click; a learner's own edit back to an earlier
    text (a typo undone within a second) is an edit."""
    at = apptest(PAGE).run()
    box = at.text_area(key=f"{KEY}-text")
    before = box.value
    rows = before.splitlines()
    walled = "\n".join([rows[0][:3] + "#" + rows[0][4:], *rows[1:]])
    at.text_area(key=f"{KEY}-text").input(walled).run()
    assert at.session_state[f"{KEY}:layout"] == walled
    at.text_area(key=f"{KEY}-text").input(before).run()  # the typo undone
    assert at.session_state[f"{KEY}:layout"] == before
    # A click's layout (as the board's callback leaves it), then the box's text from before it.
    clicked = "\n".join([rows[0], rows[1][:3] + "#" + rows[1][4:], *rows[2:]])
    at.session_state[f"{KEY}:stale"] = {before, walled}
    at.session_state[f"{KEY}:layout"] = at.session_state[f"{KEY}-text"] = clicked
    at.run()
    at.text_area(key=f"{KEY}-text").input(walled).run()  # an echo two drawings old
    assert not at.exception and at.session_state[f"{KEY}:layout"] == clicked


def test_steps_per_episode_axis_comes_from_the_data():
    """A log axis put the shortest-path line at 10^18 (plotly reads shapes on a log axis as log10)
    and showed ticks up to 10^20 (issue 25)."""
    import math

    from dlplay.rl import figures

    lengths = [9000, 4000, 600, 200] + [18 + i % 3 for i in range(200)]
    rows = [{"split": "episode", "episode": i + 1, "ret": -n, "length": n} for i, n in enumerate(lengths)]
    _, steps = figures.curves(1, rows, 18)
    axis = steps.layout.yaxis
    assert axis.type == "log" and axis.range[0] < math.log10(18) and math.log10(9000) < axis.range[1] < 4.2
    line = [s for s in steps.layout.shapes if s.y0 == s.y1][0]
    assert line.y0 == math.log10(18) and steps.layout.annotations[0].y == math.log10(18)
    _, steps = figures.curves(1, rows[4:], 18)  # no long episode: a linear axis from 0
    assert steps.layout.yaxis.type == "linear" and steps.layout.yaxis.range[0] == 0
    assert 20 < steps.layout.yaxis.range[1] < 30 and steps.layout.shapes[0].y0 == 18
