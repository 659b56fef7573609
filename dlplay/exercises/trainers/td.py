"""Q-learning or SARSA on a small cliff world with the learner's update."""
import numpy as np


def train(update, seed=0, epochs=60, alpha=0.5, gamma=0.95, epsilon=0.1, sarsa=False):
    """A 4×6 grid, start bottom-left, goal bottom-right, the bottom row between them a cliff (−100, back to
    the start), −1 a step; ε-greedy episodes with your update; steps per episode (lower is better)."""
    rng = np.random.default_rng(seed)
    rows, cols = 4, 6
    start, goal = (rows - 1) * cols, rows * cols - 1
    moves = [(-1, 0), (0, 1), (1, 0), (0, -1)]

    def step(s, a):
        r, c = divmod(s, cols)
        r, c = min(max(r + moves[a][0], 0), rows - 1), min(max(c + moves[a][1], 0), cols - 1)
        s2 = r * cols + c
        if r == rows - 1 and 0 < c < cols - 1:
            return start, -100.0, False
        return s2, -1.0, s2 == goal

    def act(Q, s):
        return int(rng.integers(4)) if rng.random() < epsilon else int(np.argmax(Q[s]))

    Q = np.zeros((rows * cols, 4))
    for episode in range(1, epochs + 1):
        s, a, done, steps = start, act(Q, start), False, 0
        while not done and steps < 500:
            s2, r, done = step(s, a)
            a2 = act(Q, s2)
            args = (Q, s, a, r, s2, a2, alpha, gamma, done) if sarsa else (Q, s, a, r, s2, alpha, gamma, done)
            Q = np.asarray(update(*args), dtype=float)
            s, a, steps = s2, a2, steps + 1
        yield {"epoch": episode, "steps": steps}
