"""The agents against Sutton & Barto's numbers (Examples 6.5 and 6.6), gymnasium's FrozenLake
through the same agents, a policy that re-routes round a new wall, the lesson as a job that
Stop ends with its table, and the GIF of an episode."""
import numpy as np
import pytest

from dlplay.jobs import STOPPED, get_scheduler
from dlplay.rl import agents, episodes, lesson, worlds
from dlplay.rl.agents import Agent, epsilon_schedule, run_episode


def run(world_name: str, method: str, episodes_: int, seed: int, **kw):
    world = worlds.make(world_name, seed=seed)
    agent = Agent(world.n_states, method=method, alpha=kw.pop("alpha", 0.5), gamma=kw.pop("gamma", 1.0), seed=seed,
                  **kw)
    eps = agents.train(world, agent, epsilon_schedule("constant", episodes_, 0.1))
    return world, agent, eps


def test_schedules_start_and_end_where_asked():
    assert np.allclose(epsilon_schedule("constant", 5, 0.2), 0.2)
    lin, exp = epsilon_schedule("linear", 11, 0.5, 0.0), epsilon_schedule("exponential", 3, 0.1, 0.001)
    assert lin[0] == 0.5 and lin[-1] == 0.0 and np.allclose(np.diff(lin), -0.05)
    assert np.allclose(exp, [0.1, 0.01, 0.001])
    with pytest.raises(ValueError, match="unknown schedule"):
        epsilon_schedule("cosine", 3)


def test_policies_give_probabilities():
    a = Agent(1, policy="egreedy")
    a.q[0] = [1.0, 3.0, 3.0, 0.0]
    assert np.allclose(a.probs(0, 0.2), [0.05, 0.45, 0.45, 0.05]), "ties share the greedy share"
    s = Agent(1, policy="softmax")
    s.q[0] = [0.0, np.log(3.0), 0.0, 0.0]
    assert np.allclose(s.probs(0, 1.0), [1 / 6, 1 / 2, 1 / 6, 1 / 6])
    picks = np.bincount([s.act(0, 1.0) for _ in range(3000)], minlength=4) / 3000
    assert abs(picks[1] - 0.5) < 0.05


def test_windy_sarsa_reaches_about_17_steps_against_the_optimal_15():
    """Example 6.5: SARSA, ε 0.1, α 0.5. The book: 170 episodes in about 8,000 steps, then
    ε-greedy episodes of about 17 steps (the greedy policy's 15, plus exploration)."""
    medians, greedy = [], []
    for seed in range(3):
        world, agent, eps = run("windy", "sarsa", 500, seed)
        lengths = np.array([e.length for e in eps])
        assert 6_000 < lengths[:170].sum() < 10_000
        medians.append(np.median(lengths[-100:]))
        path, reached = world.greedy_path(agent.q)
        assert reached
        greedy.append(len(path) - 1)
    assert world.shortest() == 15
    assert all(15 <= m <= 19 for m in medians) and 16.5 <= np.mean(medians) <= 19, medians
    assert all(15 <= g <= 18 for g in greedy), greedy


def test_on_the_cliff_sarsa_keeps_off_the_edge_and_q_learning_walks_it_for_a_lower_return():
    """Example 6.6: SARSA learns the safe path, Q-learning the optimal one along the cliff, whose
    exploring walk falls in more often: its online return is lower."""
    edge = {(2, c) for c in range(1, 11)}  # the row over the cliff
    edge_states = {r * 12 + c for r, c in edge}
    online, on_edge, reaching = {}, {}, {}
    for method in ("sarsa", "qlearning"):
        rets, visits, reached_ = [], [], 0
        for seed in range(3):
            world, agent, eps = run("cliff", method, 500, seed)
            rets.append(np.mean([e.ret for e in eps[-100:]]))
            visits.append(np.mean([sum(int(s) in edge_states for s in e.states) for e in eps[-100:]]))
            path, reached = world.greedy_path(agent.q)
            cells = {divmod(s, 12) for s in path}
            if method == "sarsa":
                assert not cells & edge, f"SARSA's path keeps off the edge: {sorted(cells)}"
            else:
                assert reached and edge <= cells and len(path) - 1 == 13, f"Q-learning's runs along it: {cells}"
            reached_ += reached
        online[method], on_edge[method], reaching[method] = np.mean(rets), np.mean(visits), reached_
    assert reaching["sarsa"] >= 2, "α 0.5 keeps SARSA's table noisy: a greedy path may loop, rarely"
    assert on_edge["sarsa"] < 1 and on_edge["qlearning"] > 8, f"edge cells visited per episode: {on_edge}"
    assert online["qlearning"] < online["sarsa"] - 5, online
    assert -40 < online["sarsa"] < -15 and online["qlearning"] < -30, online


def test_expected_sarsa_and_softmax_learn_the_cliff_too():
    world, agent, eps = run("cliff", "expected_sarsa", 300, 0)
    assert world.greedy_path(agent.q)[1]
    world, agent, eps = run("cliff", "qlearning", 300, 0, policy="softmax")
    assert world.greedy_path(agent.q)[1]


def test_q_learning_solves_gymnasiums_frozen_lake_and_cliff():
    world, agent, eps = run("gym-lake", "qlearning", 300, 0, gamma=0.9)
    path, reached = world.greedy_path(agent.q)
    assert reached and len(path) - 1 == 6
    assert np.mean([e.ret for e in eps[-100:]]) > 0.7 and all(e.ret in (0.0, 1.0) for e in eps)
    world, agent, eps = run("gym-cliff", "qlearning", 300, 0)
    path, reached = world.greedy_path(agent.q)
    assert reached and len(path) - 1 == 13


def test_the_greedy_policy_re_routes_round_a_wall_placed_while_it_learns():
    world = worlds.make("maze")
    agent = Agent(world.n_states, method="qlearning", alpha=0.5, gamma=1.0, seed=0)
    for _ in range(300):
        run_episode(world, agent, 0.1)
    path, reached = world.greedy_path(agent.q)
    shortcut = world.to_state(2, 5)
    assert reached and len(path) - 1 == 12 and shortcut in path
    assert world.edit(worlds.apply_tool(world.rows, 2, 5, "wall")) == []
    lengths = [run_episode(world, agent, 0.1).length for _ in range(300)]
    path, reached = world.greedy_path(agent.q)
    assert reached and shortcut not in path and len(path) - 1 == 42
    assert np.median(lengths[-50:]) < 60


def test_the_lesson_streams_episodes_and_stop_keeps_the_table():
    spec = lesson.RLSpec(world="cliff", method="qlearning", episodes=2000, pace=200)
    job = get_scheduler().submit(lambda j: lesson.train_rl(spec, j), session_id="rl-test", name="rl")
    assert job.wait_for_events(0, timeout=10, kind="metric")
    while len(job.metrics()) < 30:
        job.wait_for_events(job.n_events, timeout=2)
    world = job.latest("world")
    assert world.rows == worlds.make("cliff").rows and job.latest("q").shape == (48, 4)
    job.cancel()
    assert job.wait(10) and job.state == STOPPED
    r = job.result
    assert 30 <= r.episodes < 2000 and r.stopped.startswith("stopped after episode")
    assert [m["episode"] for m in job.metrics()] == list(range(1, r.episodes + 1))
    back = lesson.load_result(spec, lesson.save_result(r))
    assert np.array_equal(back.q, r.q) and all(np.array_equal(a, b) for a, b in zip(back.paths, r.paths))
    assert back.rows(1) == world.rows


def test_edits_during_a_run_are_kept_per_episode():
    spec = lesson.RLSpec(world="maze", method="qlearning", episodes=40)
    world = lesson.make_world(spec)
    calls = []

    class Job:  # the least a job offers: the lesson edits the world after episode 10
        def metric(self, **row):
            calls.append(row)
            if row["episode"] == 10:
                world.edit(worlds.apply_tool(world.rows, 2, 5, "wall"))

        artifact = log = lambda self, *a, **k: None
        set_progress = stopped_at = check_cancelled = artifact

    r = lesson.train_rl(spec, Job(), world)
    assert len(r.layouts) == 2 and list(r.layout_of[:10]) == [0] * 10 and set(r.layout_of[10:]) == {1}
    assert r.rows(11)[2][5] == "#" and r.rows(10)[2][5] == "." and r.shortest == 42


def test_the_gif_has_one_frame_per_step():
    world, agent, eps = run("cliff", "sarsa", 30, 0)
    for ep in (eps[-1], eps[10]):
        data = episodes.episode_gif(world.rows, ep.states)
        assert data[:6] == b"GIF89a" and episodes.gif_frames(data) == ep.length
    bump = np.array([world.start] * 6)  # five steps against the edge: the same cell every time
    assert episodes.gif_frames(episodes.episode_gif(world.rows, bump)) == 5
