"""Tabular agents: a table Q[state, action] learned from one step at a time.

After each step (s, a, r, s′) the agent moves Q(s, a) a fraction α towards a target:

    Q-learning       r + γ · max_a′ Q(s′, a′)                (the greedy policy's value: off-policy)
    SARSA            r + γ · Q(s′, a′), a′ the action taken next   (the policy followed: on-policy)
    Expected SARSA   r + γ · Σ_a′ π(a′|s′) Q(s′, a′)         (the policy followed, on average)

and 0 instead of the γ term when s′ ends the episode. The policy explores: ε-greedy takes a
random action with probability ε, else a best one; softmax draws a with probability ∝ exp(Q/τ).
ε (or τ) follows a schedule over the episodes: constant, linear or exponential decay.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = {"sarsa": "SARSA", "qlearning": "Q-learning", "expected_sarsa": "Expected SARSA"}
POLICIES = {"egreedy": "ε-greedy", "softmax": "softmax (Boltzmann)"}
SCHEDULES = {"constant": "constant", "linear": "linear decay", "exponential": "exponential decay"}


def epsilon_schedule(kind: str, episodes: int, start: float = 0.1, end: float = 0.01) -> np.ndarray:
    """ε (or the softmax temperature τ) for each episode: constant at `start`, or decaying from
    `start` in the first episode to `end` in the last, in a straight line or geometrically."""
    n = max(1, int(episodes))
    t = np.arange(n) / max(1, n - 1)
    if kind == "constant":
        return np.full(n, float(start))
    if kind == "linear":
        return start + (end - start) * t
    if kind == "exponential":
        lo = max(float(end), 1e-6)
        return float(start) * (lo / float(start)) ** t if start > 0 else np.zeros(n)
    raise ValueError(f"unknown schedule {kind!r}; choose from {list(SCHEDULES)}")


class Agent:
    """A Q table, the policy that explores with it and the update rule that learns it."""

    def __init__(self, n_states: int, n_actions: int = 4, method: str = "sarsa", policy: str = "egreedy",
                 alpha: float = 0.5, gamma: float = 1.0, seed: int = 0):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose from {list(METHODS)}")
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; choose from {list(POLICIES)}")
        self.q = np.zeros((n_states, n_actions))
        self.method, self.policy, self.alpha, self.gamma = method, policy, float(alpha), float(gamma)
        self.n_actions = n_actions
        self.rng = np.random.default_rng(seed)

    def probs(self, s: int, explore: float) -> np.ndarray:
        """π(·|s): ε-greedy shares 1 − ε among the best actions; softmax ∝ exp(Q/τ)."""
        q = self.q[s]
        if self.policy == "softmax":
            z = np.exp((q - q.max()) / max(explore, 1e-6))
            return z / z.sum()
        best = q == q.max()
        return explore / self.n_actions + (1.0 - explore) * best / best.sum()

    def act(self, s: int, explore: float) -> int:
        q = self.q[s]
        if self.policy == "softmax":
            return int(min(np.searchsorted(np.cumsum(self.probs(s, explore)), self.rng.random()), self.n_actions - 1))
        if self.rng.random() < explore:
            return int(self.rng.integers(self.n_actions))
        best = np.flatnonzero(q == q.max())
        return int(best[0] if len(best) == 1 else self.rng.choice(best))  # ties broken at random

    def update(self, s: int, a: int, r: float, s2: int, a2: int, done: bool, explore: float) -> None:
        if done:
            target = r
        elif self.method == "qlearning":
            target = r + self.gamma * self.q[s2].max()
        elif self.method == "sarsa":
            target = r + self.gamma * self.q[s2, a2]
        else:
            target = r + self.gamma * float(self.probs(s2, explore) @ self.q[s2])
        self.q[s, a] += self.alpha * (target - self.q[s, a])


@dataclass
class Episode:
    ret: float  # the sum of the rewards (undiscounted): the online return
    states: np.ndarray  # s_0 … s_T, T the episode's length
    actions: np.ndarray  # a_0 … a_{T−1}
    reached: bool  # ended in a goal (not cut off)

    @property
    def length(self) -> int:
        return len(self.actions)


def run_episode(world, agent: Agent, explore: float, learn: bool = True) -> Episode:
    """One episode from the start: act, step, learn from the step, until a goal or the world's
    step limit. The next action is chosen before the update (SARSA needs it; the others ignore it)."""
    s = world.reset()
    a = agent.act(s, explore)
    states, actions, total, done = [s], [], 0.0, False
    for _ in range(world.max_steps):
        s2, r, done = world.step(a)
        a2 = agent.act(s2, explore) if not done else 0
        if learn:
            agent.update(s, a, r, s2, a2, done, explore)
        states.append(s2)
        actions.append(a)
        total += r
        s, a = s2, a2
        if done:
            break
    return Episode(total, np.array(states, dtype=np.int32), np.array(actions, dtype=np.int8), done)


def train(world, agent: Agent, schedule: np.ndarray, on_episode=None) -> list[Episode]:
    """Episodes with ε from the schedule; `on_episode(k, episode)` after each (a job streams it)."""
    episodes = []
    for k, eps in enumerate(schedule):
        ep = run_episode(world, agent, float(eps))
        episodes.append(ep)
        if on_episode is not None:
            on_episode(k, ep)
    return episodes
