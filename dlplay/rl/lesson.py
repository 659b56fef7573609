"""The grid-world lesson: a tabular agent learning, episode by episode, in a world the learner
can edit while it learns.

`train_rl(spec, job)` is the training loop: each episode's return and length stream to the
page as metric rows, the Q table as the artifact "q" (a few times a second), and the world
itself as the artifact "world" — the page edits that object and the next episode walks the
new grid. Stop keeps the table learned so far.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..jobs import Job
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import stop_pressed
from . import worlds
from .agents import METHODS, POLICIES, Agent, epsilon_schedule, run_episode

PUBLISH_S = 0.2  # the Q table goes to the page this often


@dataclass
class RLSpec:
    world: str = "windy"  # a key of worlds.WORLDS
    layout: str = ""  # the grid as text ("" = the world's own)
    step_reward: float = -1.0
    goal_reward: float = 0.0
    pit_reward: float = -100.0
    method: str = "sarsa"  # "sarsa" | "qlearning" | "expected_sarsa"
    policy: str = "egreedy"  # "egreedy" | "softmax"
    schedule: str = "constant"  # "constant" | "linear" | "exponential"
    explore: float = 0.1  # ε (or softmax's τ) in the first episode
    explore_end: float = 0.01  # … and in the last, for the decaying schedules
    alpha: float = 0.5
    gamma: float = 1.0
    episodes: int = 500
    pace: int = 0  # episodes a second at most (0: as fast as it goes) — slow enough to watch and edit
    seed: int = 0

    @property
    def rewards(self) -> worlds.Rewards:
        return worlds.Rewards(self.step_reward, self.goal_reward, self.pit_reward)


def make_world(spec: RLSpec):
    """The spec's world (raises worlds.LayoutError with what to change)."""
    return worlds.make(spec.world, spec.layout or None, spec.rewards, spec.seed)


def schedule(spec: RLSpec) -> np.ndarray:
    return epsilon_schedule(spec.schedule, spec.episodes, spec.explore, spec.explore_end)


@dataclass
class RLResult:
    spec: RLSpec
    q: np.ndarray  # (states, 4), actions ↑→↓←
    returns: np.ndarray  # per episode, undiscounted: the online return
    lengths: np.ndarray  # steps per episode
    paths: list[np.ndarray]  # each episode's states s_0 … s_T
    layout_of: np.ndarray  # per episode, the index into layouts of the grid it walked
    layouts: list[str] = field(default_factory=list)  # the grid before and after each edit
    shape: tuple[int, int] = (0, 0)
    shortest: int | None = None  # the fewest steps to a goal in the last layout
    stopped: str = ""
    seconds: float = 0.0

    @property
    def episodes(self) -> int:
        return len(self.returns)

    def rows(self, episode: int) -> tuple[str, ...]:
        """The grid episode `episode` (1-based) walked."""
        return tuple(self.layouts[int(self.layout_of[episode - 1])].splitlines())

    def last(self, n: int = 100) -> tuple[float, float]:
        """Mean return and length of the last `n` episodes."""
        return float(np.mean(self.returns[-n:])), float(np.mean(self.lengths[-n:]))


def train_rl(spec: RLSpec, job: Job | None = None, world=None) -> RLResult:
    world = world if world is not None else make_world(spec)
    agent = Agent(world.n_states, world.n_actions, spec.method, spec.policy, spec.alpha, spec.gamma, spec.seed)
    eps = schedule(spec)
    if job:
        job.artifact("world", world)  # the page edits this object while the agent learns
        job.artifact("q", agent.q.copy())
        job.log(f"{METHODS[spec.method]} with {POLICIES[spec.policy]} exploration on {world.n_rows}×{world.n_cols} "
                f"cells; shortest path {world.shortest()} steps")
    returns, lengths, paths, layout_of = [], [], [], []
    layouts, version = [world.text()], world.version
    t0, published, stopped = time.time(), 0.0, ""
    for k in range(spec.episodes):
        if stop_pressed(job, k):
            stopped = f"stopped after episode {k} of {spec.episodes}"
            job.stopped_at(stopped)
            break
        if world.version != version:  # edited by the page since the last episode
            version = world.version
            if world.text() != layouts[-1]:
                layouts.append(world.text())
                if job:
                    job.log(f"episode {k + 1}: the world was edited")
        ep = run_episode(world, agent, float(eps[k]))
        returns.append(ep.ret)
        lengths.append(ep.length)
        paths.append(ep.states)
        layout_of.append(len(layouts) - 1)
        if job:
            job.metric(episode=k + 1, split="episode", ret=ep.ret, length=ep.length, explore=float(eps[k]))
            now = time.time()
            if now - published >= PUBLISH_S or k == spec.episodes - 1:
                job.artifact("q", agent.q.copy())
                published = now
            job.set_progress((k + 1) / spec.episodes, f"episode {k + 1:,} of {spec.episodes:,}")
        if spec.pace > 0:
            time.sleep(max(0.0, t0 + (k + 1) / spec.pace - time.time()))
    if job:
        job.artifact("q", agent.q.copy())
    return RLResult(spec, agent.q, np.array(returns, float), np.array(lengths, np.int64), paths,
                    np.array(layout_of, np.int64), layouts, (world.n_rows, world.n_cols), world.shortest(),
                    stopped, time.time() - t0)


def greedy(result: RLResult, rows: tuple[str, ...] | None = None) -> tuple[list[int], bool]:
    """The greedy policy's path in the run's last grid (or `rows`, a grid of the same size)."""
    spec = result.spec
    text = "\n".join(rows) if rows is not None else result.layouts[-1]
    world = worlds.make(spec.world, text, spec.rewards)
    return world.greedy_path(result.q)


# --- as a stored run ----------------------------------------------------------------------------------

def _paths(paths: list[np.ndarray]) -> dict:
    """Every episode's states in one array, with where each episode starts."""
    offsets = np.cumsum([0] + [len(p) for p in paths]).astype(np.int64)
    return {"states": np.concatenate(paths).astype(np.int32) if paths else np.zeros(0, np.int32), "offsets": offsets}


def _paths_of(spec: RLSpec, saved) -> list[np.ndarray]:
    states, off = saved.arrays["states"], saved.arrays["offsets"]
    return [states[off[i]:off[i + 1]] for i in range(len(off) - 1)]


def _headline(r: RLResult) -> str:
    path, reached = greedy(r)
    return (f"greedy path {len(path) - 1} steps" if reached else "greedy path does not reach G") + \
        (f" · last-100 return {r.last()[0]:.1f}" if r.episodes else "")


def beside_pits(r: RLResult, path: list[int]) -> int:
    """How many cells of the greedy path between start and goal border a pit (the cliff's edge): 0 keeps
    off it (Sutton & Barto's SARSA path; Q-learning's runs along the edge)."""
    spec = r.spec
    world = worlds.make(spec.world, r.layouts[-1], spec.rewards)
    near = {world.to_state(pr + dr, pc + dc) for pr, pc in (divmod(p, world.n_cols) for p in world.pits)
            for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0))
            if 0 <= pr + dr < world.n_rows and 0 <= pc + dc < world.n_cols}
    return sum(s in near for s in path[1:-1])


def _figures(r: RLResult) -> dict:
    """What the Runs page lists beside the fields (and what an assignment's goals can ask of)."""
    path, reached = greedy(r)
    ret, length = r.last() if r.episodes else (0.0, 0.0)
    return {"episodes": r.episodes, "last100_return": ret, "last100_length": length,
            "greedy_steps": len(path) - 1 if reached else None, "greedy_reaches_goal": int(reached),
            "greedy_beside_pits": beside_pits(r, path) if reached else None}


CODEC = Codec(RLResult, models={}, headline=_headline, extra=_figures,
              forms={"q": Form(lambda q: q.astype(np.float64), np.asarray), "paths": Form(_paths, _paths_of, whole=True)})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: RLSpec) -> str:
    return (f"{spec.world} · {METHODS[spec.method]} · {POLICIES[spec.policy]} {spec.explore:g}"
            f"{'' if spec.schedule == 'constant' else f'→{spec.explore_end:g}'} · α {spec.alpha:g} · "
            f"γ {spec.gamma:g} · {spec.episodes:,} episodes")


def work(spec: RLSpec):
    from ..limits import Work

    try:
        rows, cols = (worlds.Layout(worlds.parse(spec.layout)) if spec.layout else worlds.builtin(spec.world)).shape
        cells = rows * cols
    except (worlds.LayoutError, ValueError, KeyError):
        cells = worlds.MAX_SIDE ** 2
    return Work(spec.episodes, "episode", cells, "cells")


LESSON = Lesson(page="rl", figure=Figure("last100_return", "return over the last 100 episodes"), spec_type=RLSpec,
                train=lambda spec, job: train_rl(spec, job), save=save_result, load=load_result, brief=brief,
                curves=("ret", "length"), work=work)
