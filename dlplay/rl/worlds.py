"""Grid worlds: a layout of characters, the moves an agent makes in it, and the checks a layout
must pass before an agent trains on it.

A layout is rows of cells — `#` wall, `S` start, `G` goal, `P` pit (or cliff), `.` free. The
agent moves up, right, down or left; into a wall or off the grid it stays where it is. Each
step earns the step reward (−1), the step into a goal the goal reward and ends the episode,
and the step into a pit the pit reward (−100) and puts the agent back on the start, as on
Sutton & Barto's cliff. A windy world also pushes the agent up by its column's wind.

A `World` can be edited while an agent learns in it (`edit`, `set_rewards`, both thread-safe):
a training job holds the world, the page edits it, the next step walks the new grid.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..places import ASSETS

WALL, START, GOAL, PIT, FREE = "#", "S", "G", "P", "."
CELLS = {WALL: "wall", START: "start", GOAL: "goal", PIT: "pit", FREE: "free"}
ACTIONS = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left (gymnasium's CliffWalking order)
ARROWS = "↑→↓←"
MAX_SIDE = 20  # rows and columns a layout may have
MAX_STEPS = 10_000  # an episode is cut off here (a maze edited shut mid-run never hangs a job)
MAZES = ASSETS / "mazes"

# name → title; the layouts are dlplay/assets/mazes/<name>.txt.
WORLDS = {
    "windy": "Windy grid world (Sutton & Barto, Example 6.5)",
    "cliff": "Cliff walking (Sutton & Barto, Example 6.6)",
    "maze": "A maze with a shortcut",
    "empty": "Empty 10×10",
    "gym-cliff": "CliffWalking-v1 (gymnasium)",
    "gym-lake": "FrozenLake-v1 4×4, not slippery (gymnasium)",
    "gym-lake-slippery": "FrozenLake-v1 4×4, slippery (gymnasium)",
}


class LayoutError(ValueError):
    """A layout an agent cannot train on; the message says what to change."""


@dataclass(frozen=True)
class Rewards:
    step: float = -1.0  # every step
    goal: float = 0.0  # the step into a goal (instead of the step reward)
    pit: float = -100.0  # the step into a pit (instead of the step reward); then back to the start


@dataclass
class Layout:
    rows: tuple[str, ...]
    wind: tuple[int, ...] = ()  # per column, cells pushed up (empty: no wind)
    title: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.rows[0]) if self.rows else 0

    def text(self) -> str:
        return "\n".join(self.rows)

    def find(self, cell: str) -> list[tuple[int, int]]:
        return [(r, c) for r, row in enumerate(self.rows) for c, ch in enumerate(row) if ch == cell]


# --- layouts as text -----------------------------------------------------------------------------------

def parse(text: str) -> tuple[str, ...]:
    """The grid rows of a layout typed as text (blank lines and surrounding spaces dropped).
    Raises LayoutError naming the first problem that makes it no grid at all."""
    rows = tuple(line.strip() for line in str(text).splitlines() if line.strip())
    if not rows:
        raise LayoutError("The layout is empty: type rows of cells (# wall, S start, G goal, P pit, . free).")
    if len(rows) > MAX_SIDE or max(len(r) for r in rows) > MAX_SIDE:
        raise LayoutError(f"The layout is {len(rows)}×{max(len(r) for r in rows)} cells: at most "
                          f"{MAX_SIDE}×{MAX_SIDE} fit here.")
    for i, row in enumerate(rows):
        if len(row) != len(rows[0]):
            raise LayoutError(f"Row {i + 1} has {len(row)} cells but row 1 has {len(rows[0])}: every row needs "
                              "the same number of cells.")
        for j, ch in enumerate(row):
            if ch not in CELLS:
                raise LayoutError(f"Row {i + 1}, column {j + 1}: {ch!r} is not a cell — use # wall, S start, "
                                  "G goal, P pit or . free.")
    return rows


def read(path: Path) -> Layout:
    """A layout file: optional `key: value` lines (title, wind), then the grid."""
    meta, grid = {}, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            meta[key.strip().lower()] = value.strip()
        elif line.strip():
            grid.append(line)
    wind = tuple(int(w) for w in meta.get("wind", "").split())
    return Layout(parse("\n".join(grid)), wind, meta.get("title", path.stem))


def builtin(name: str) -> Layout:
    """A world's own layout (gymnasium's worlds as the same characters)."""
    if name.startswith("gym-"):
        return gym_layout(name)
    if name not in WORLDS:
        raise LayoutError(f"Unknown world {name!r}; choose from {', '.join(WORLDS)}.")
    return read(MAZES / f"{name}.txt")


def neighbours(rows: tuple[str, ...], r: int, c: int, a: int) -> tuple[int, int]:
    """Where action `a` leads from (r, c), wind aside: a wall or the edge keeps the agent in place."""
    dr, dc = ACTIONS[a]
    nr, nc = r + dr, c + dc
    if 0 <= nr < len(rows) and 0 <= nc < len(rows[0]) and rows[nr][nc] != WALL:
        return nr, nc
    return r, c


def problems(rows: tuple[str, ...]) -> list[str]:
    """What keeps an agent from training on this grid: no start, several starts, no goal, or no
    path from the start to a goal (wind aside) that avoids walls and pits. Empty: it trains."""
    lay = Layout(rows)
    starts, goals = lay.find(START), lay.find(GOAL)
    found = []
    if not starts:
        found.append("There is no start: place one S.")
    elif len(starts) > 1:
        found.append(f"There are {len(starts)} starts (S): keep one.")
    if not goals:
        found.append("There is no goal: place a G.")
    if found:
        return found
    if not reachable(rows, starts[0], set(goals)):
        found.append("There is no path from S to G: remove a wall (or a pit) in the way.")
    return found


def reachable(rows: tuple[str, ...], start: tuple[int, int], goals: set) -> bool:
    """Breadth-first search from the start through free cells (walls and pits block)."""
    seen, todo = {start}, deque([start])
    while todo:
        r, c = todo.popleft()
        if (r, c) in goals:
            return True
        for a in range(len(ACTIONS)):
            nxt = neighbours(rows, r, c, a)
            if nxt not in seen and rows[nxt[0]][nxt[1]] != PIT:
                seen.add(nxt)
                todo.append(nxt)
    return False


def validate(text: str) -> tuple[tuple[str, ...] | None, list[str]]:
    """(rows, problems) of a layout typed as text; rows is None when it is no grid at all."""
    try:
        rows = parse(text)
    except LayoutError as exc:
        return None, [str(exc)]
    return rows, problems(rows)


TOOLS = {"wall": WALL, "pit": PIT, "start": START, "goal": GOAL, "erase": FREE}


def apply_tool(rows: tuple[str, ...], r: int, c: int, tool: str) -> tuple[str, ...]:
    """The grid with cell (r, c) set by an editor tool. The start and the goal move (the old
    one becomes free); the others set one cell, and setting a start or goal cell to something
    else leaves the grid without one (the check says so)."""
    cell = TOOLS[tool]
    if not (0 <= r < len(rows) and 0 <= c < len(rows[0])):
        return rows
    grid = [list(row) for row in rows]
    if cell in (START, GOAL):
        for row in grid:
            for j, ch in enumerate(row):
                if ch == cell:
                    row[j] = FREE
    grid[r][c] = cell
    return tuple("".join(row) for row in grid)


# --- the world an agent walks ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Grid:
    """One version of the world, replaced whole by an edit (so a step never sees half an edit)."""
    rows: tuple[str, ...]
    start: int
    goals: frozenset
    pits: frozenset
    rewards: Rewards


@dataclass
class World:
    """A grid world with the agent's position: `reset()` → state, `step(a)` → (state, reward, done).
    States number the cells row by row: state = row · cols + column."""

    layout: Layout
    rewards: Rewards = field(default_factory=Rewards)
    max_steps: int = MAX_STEPS
    editable: bool = True

    def __post_init__(self):
        rows = parse("\n".join(self.layout.rows))
        if found := problems(rows):
            raise LayoutError(" ".join(found))
        self.n_rows, self.n_cols = len(rows), len(rows[0])
        self.n_states, self.n_actions = self.n_rows * self.n_cols, len(ACTIONS)
        self.wind = np.array(self.layout.wind or (0,) * self.n_cols, dtype=int)
        if len(self.wind) != self.n_cols:
            raise LayoutError(f"The wind has {len(self.wind)} columns but the grid {self.n_cols}.")
        self._lock = threading.Lock()
        self.version = 0  # counts edits
        self._grid = self._make(rows, self.rewards)
        self.state = self._grid.start

    def _make(self, rows: tuple[str, ...], rewards: Rewards) -> _Grid:
        lay = Layout(rows)
        to_state = lambda cells: frozenset(r * self.n_cols + c for r, c in cells)  # noqa: E731
        return _Grid(rows, self.to_state(*lay.find(START)[0]), to_state(lay.find(GOAL)), to_state(lay.find(PIT)),
                     rewards)

    # --- what the agent does ---
    def reset(self) -> int:
        self.state = self._grid.start
        return self.state

    def step(self, a: int) -> tuple[int, float, bool]:
        g = self._grid  # this step's version of the world
        s2 = self.move(g.rows, self.state, a)
        if s2 in g.goals:
            self.state = s2
            return s2, g.rewards.goal, True
        if s2 in g.pits:
            self.state = g.start
            return g.start, g.rewards.pit, False
        self.state = s2
        return s2, g.rewards.step, False

    def move(self, rows: tuple[str, ...], s: int, a: int) -> int:
        """The cell action `a` leads to from state `s`, then the wind of the column left, cell by
        cell (a wall or the edge stops it)."""
        r, c = divmod(s, self.n_cols)
        nr, nc = neighbours(rows, r, c, a)
        for _ in range(int(self.wind[c])):
            if nr == 0 or rows[nr - 1][nc] == WALL:
                break
            nr -= 1
        return nr * self.n_cols + nc

    # --- what the page reads and edits ---
    @property
    def rows(self) -> tuple[str, ...]:
        return self._grid.rows

    @property
    def current_rewards(self) -> Rewards:
        return self._grid.rewards

    @property
    def start(self) -> int:
        return self._grid.start

    @property
    def goals(self) -> frozenset:
        return self._grid.goals

    @property
    def pits(self) -> frozenset:
        return self._grid.pits

    def to_state(self, r: int, c: int) -> int:
        return r * self.n_cols + c

    def cell(self, s: int) -> str:
        r, c = divmod(s, self.n_cols)
        return self._grid.rows[r][c]

    def text(self) -> str:
        return "\n".join(self.rows)

    def edit(self, rows: tuple[str, ...]) -> list[str]:
        """Replace the grid (same size) while an agent may be walking it; returns the problems that
        kept the edit out (then nothing changes), empty when it is in."""
        if not self.editable:
            return ["This world is gymnasium's: it cannot be edited."]
        try:
            rows = parse("\n".join(rows))
        except LayoutError as exc:
            return [str(exc)]
        if (len(rows), len(rows[0])) != (self.n_rows, self.n_cols):
            return [f"An edit keeps the grid's size, {self.n_rows}×{self.n_cols}."]
        if found := problems(rows):
            return found
        with self._lock:
            if rows != self._grid.rows:
                self._grid = self._make(rows, self._grid.rewards)
                self.version += 1
        return []

    def set_rewards(self, rewards: Rewards) -> None:
        with self._lock:
            if rewards != self._grid.rewards:
                g = self._grid
                self._grid = _Grid(g.rows, g.start, g.goals, g.pits, rewards)
                self.version += 1

    # --- reading a policy ---
    def shortest(self) -> int | None:
        """The fewest steps from the start to a goal under the real moves (wind included): a
        breadth-first search, pits avoided. None when no goal can be reached."""
        g = self._grid
        seen, todo = {g.start: 0}, deque([g.start])
        while todo:
            s = todo.popleft()
            if s in g.goals:
                return seen[s]
            for a in range(self.n_actions):
                s2 = self.move(g.rows, s, a)
                if s2 not in seen and s2 not in g.pits:
                    seen[s2] = seen[s] + 1
                    todo.append(s2)
        return None

    def greedy_path(self, q: np.ndarray, limit: int | None = None) -> tuple[list[int], bool]:
        """The states the greedy policy (argmax_a Q, first best on ties) visits from the start, and
        whether it reaches a goal; it stops at a goal, a pit, a state seen before (a loop) or `limit`."""
        g = self._grid
        s, path, seen = g.start, [g.start], {g.start}
        for _ in range(limit or self.n_states):
            s = self.move(g.rows, s, int(np.argmax(q[s])))
            path.append(s)
            if s in g.goals:
                return path, True
            if s in g.pits or s in seen:
                return path, False
            seen.add(s)
        return path, False


def make(name: str, text: str | None = None, rewards: Rewards | None = None, seed: int = 0):
    """The world `name` with its own layout, or with `text` (an edited layout of it; gymnasium's
    worlds ignore it and their own rewards stand). Raises LayoutError with what to change."""
    if name.startswith("gym-"):
        return GymWorld(name, seed)
    own = builtin(name)
    rows = parse(text) if text else own.rows
    wind = own.wind if own.wind and len(own.wind) == len(rows[0]) else ()
    return World(Layout(rows, wind, own.title), rewards or Rewards())


# --- gymnasium's toy-text worlds through the same agents ----------------------------------------------------

GYM = {"gym-cliff": ("CliffWalking-v1", {}), "gym-lake": ("FrozenLake-v1", {"is_slippery": False}),
       "gym-lake-slippery": ("FrozenLake-v1", {"is_slippery": True})}
# our action (↑→↓←) → gymnasium's: CliffWalking numbers them as we do, FrozenLake left, down, right, up
GYM_ACTIONS = {"CliffWalking-v1": (0, 1, 2, 3), "FrozenLake-v1": (3, 2, 1, 0)}


def gym_layout(name: str) -> Layout:
    """A gymnasium world drawn in this module's characters (FrozenLake's holes are pits)."""
    env_id, kwargs = GYM[name]
    if env_id == "CliffWalking-v1":
        rows = ("." * 12,) * 3 + ("S" + "P" * 10 + "G",)
    else:
        import gymnasium

        desc = gymnasium.make(env_id, **kwargs).unwrapped.desc
        rows = tuple("".join({"F": ".", "H": "P"}.get(ch, ch) for ch in (c.decode() for c in row)) for row in desc)
    return Layout(rows, (), WORLDS[name])


class GymWorld:
    """gymnasium's CliffWalking-v1 or FrozenLake-v1 with a `World`'s face: the agents step the real
    environment (its own rewards and, slippery, its randomness); the drawing and the greedy path use
    the same grid in this module's characters. It cannot be edited."""

    editable = False
    version = 0
    max_steps = MAX_STEPS

    def __init__(self, name: str, seed: int = 0):
        import gymnasium

        env_id, kwargs = GYM[name]
        self.name, self.env_id = name, env_id
        self.env = gymnasium.make(env_id, **kwargs)
        self.layout = gym_layout(name)
        self._grid_world = World(self.layout, Rewards(), editable=False)
        self.n_rows, self.n_cols = self._grid_world.n_rows, self._grid_world.n_cols
        self.n_states, self.n_actions = int(self.env.observation_space.n), 4
        self.wind = self._grid_world.wind
        self._actions = GYM_ACTIONS[env_id]
        self._seed = seed
        self.state = 0

    def reset(self) -> int:
        s, _ = self.env.reset(seed=self._seed) if self._seed is not None else self.env.reset()
        self._seed = None  # seeded once: later episodes continue the same random stream
        self.state = int(s)
        return self.state

    def step(self, a: int) -> tuple[int, float, bool]:
        s2, r, terminated, truncated, _ = self.env.step(self._actions[a])
        self.state = int(s2)
        return self.state, float(r), bool(terminated or truncated)

    def edit(self, rows) -> list[str]:
        return [f"{WORLDS[self.name]} is gymnasium's own world: it cannot be edited."]

    def set_rewards(self, rewards: Rewards) -> None:
        """gymnasium's rewards stand."""

    rows = property(lambda self: self._grid_world.rows)
    start = property(lambda self: self._grid_world.start)
    goals = property(lambda self: self._grid_world.goals)
    pits = property(lambda self: self._grid_world.pits)
    current_rewards = property(lambda self: None)

    def to_state(self, r: int, c: int) -> int:
        return r * self.n_cols + c

    def cell(self, s: int) -> str:
        return self._grid_world.cell(s)

    def text(self) -> str:
        return self._grid_world.text()

    def shortest(self) -> int | None:
        return None if self.name == "gym-lake-slippery" else self._grid_world.shortest()

    def greedy_path(self, q: np.ndarray, limit: int | None = None) -> tuple[list[int], bool]:
        return self._grid_world.greedy_path(q, limit)
