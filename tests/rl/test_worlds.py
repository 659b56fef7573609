"""The grid worlds: layouts as text, the checks before training, the moves (walls, pits, wind),
editing while an agent walks, and gymnasium's worlds in the same characters."""
import pytest

from dlplay.rl import worlds
from dlplay.rl.worlds import LayoutError, Rewards, World


def world(text: str, **kw) -> World:
    return World(worlds.Layout(worlds.parse(text)), **kw)


def test_layouts_that_are_no_grid_say_what_is_wrong():
    with pytest.raises(LayoutError, match="empty"):
        worlds.parse("  \n\n")
    with pytest.raises(LayoutError, match="Row 2 has 2 cells but row 1 has 3"):
        worlds.parse("S..\n.G")
    with pytest.raises(LayoutError, match="'x' is not a cell"):
        worlds.parse("S.x\n..G")
    with pytest.raises(LayoutError, match="at most 20×20"):
        worlds.parse("\n".join(["S" + "." * 20] * 3))


def test_missing_start_goal_several_starts_and_no_path_are_reported():
    assert worlds.validate("...\n..G")[1] == ["There is no start: place one S."]
    assert worlds.validate("S.S\n..G")[1] == ["There are 2 starts (S): keep one."]
    assert worlds.validate("S..\n...")[1] == ["There is no goal: place a G."]
    walled = "S.#..\n..#..\n..#.G"
    assert worlds.validate(walled)[1] == ["There is no path from S to G: remove a wall (or a pit) in the way."]
    assert worlds.validate("S.P.G")[1][0].startswith("There is no path"), "a pit blocks as a wall does"
    assert worlds.validate("S...G") == (("S...G",), [])
    with pytest.raises(LayoutError, match="no path"):
        world(walled)


def test_every_world_loads_and_the_books_shortest_paths_hold():
    shortest = {name: worlds.make(name).shortest() for name in worlds.WORLDS}
    assert shortest == {"windy": 15, "cliff": 13, "maze": 12, "empty": 18, "gym-cliff": 13, "gym-lake": 6,
                        "gym-lake-slippery": None}
    windy = worlds.make("windy")
    assert (windy.n_rows, windy.n_cols) == (7, 10) and list(windy.wind) == [0, 0, 0, 1, 1, 1, 2, 2, 1, 0]
    assert divmod(windy.start, 10) == (3, 0) and [divmod(g, 10) for g in windy.goals] == [(3, 7)]


def test_walls_edges_and_wind_move_the_agent_as_the_book_says():
    w = world("S.#\n..G")
    assert w.reset() == 0 and w.step(0) == (0, -1.0, False), "off the grid: stays, pays the step"
    assert w.step(1) == (1, -1.0, False) and w.step(1) == (1, -1.0, False), "into a wall: stays"
    assert w.step(2) == (4, -1.0, False) and w.step(1) == (5, 0.0, True), "the goal ends the episode"
    windy = worlds.make("windy")
    windy.state = windy.to_state(3, 3)  # wind 1 under column 3
    assert divmod(windy.step(1)[0], 10) == (2, 4)
    windy.state = windy.to_state(1, 6)  # wind 2: pushed against the top edge
    assert divmod(windy.step(1)[0], 10) == (0, 7)


def test_the_cliff_costs_100_and_sends_the_agent_back_to_the_start():
    cliff = worlds.make("cliff", rewards=Rewards(pit=-100.0))
    start = cliff.reset()
    assert cliff.step(1) == (start, -100.0, False)
    assert cliff.step(0)[0] == cliff.to_state(2, 0)


def test_tools_move_the_start_and_goal_and_an_edit_that_blocks_the_path_is_refused():
    rows = worlds.parse("S..\n...\n..G")
    assert worlds.apply_tool(rows, 1, 1, "start") == ("." * 3, ".S.", "..G")
    assert worlds.apply_tool(rows, 0, 2, "goal") == ("S.G", "...", "...")
    assert worlds.apply_tool(rows, 1, 1, "wall") == ("S..", ".#.", "..G")
    assert worlds.apply_tool(rows, 9, 9, "wall") == rows, "outside the grid: nothing"
    w = world("S..\n...\n..G")
    assert w.edit(worlds.parse("S.#\n.#.\n#.G"))[0].startswith("There is no path") and w.version == 0
    assert w.edit(worlds.parse("S..\n.#.\n..G")) == [] and w.version == 1 and w.cell(4) == "#"
    assert w.edit(("S.G",))[0] == "An edit keeps the grid's size, 3×3."
    w.set_rewards(Rewards(goal=10.0))
    assert w.current_rewards.goal == 10.0 and w.version == 2


def test_walling_the_mazes_shortcut_leaves_the_long_way_round():
    maze = worlds.make("maze")
    blocked = worlds.apply_tool(maze.rows, 2, 5, "wall")
    assert worlds.problems(blocked) == []
    assert maze.edit(blocked) == [] and maze.shortest() == 42


def test_gymnasiums_worlds_are_drawn_in_the_same_characters_and_cannot_be_edited():
    lake = worlds.make("gym-lake")
    assert lake.rows == ("S...", ".P.P", "...P", "P..G") and lake.n_states == 16
    assert lake.edit(lake.rows)[0].endswith("cannot be edited.")
    cliff = worlds.make("gym-cliff")
    assert cliff.rows == worlds.make("cliff").rows and cliff.n_states == 48
    s = cliff.reset()
    assert s == 36 and cliff.step(1) == (36, -100.0, False), "gymnasium's cliff: −100, back to the start"
    lake.reset()
    assert lake.step(2) == (4, 0.0, False), "our ↓ is FrozenLake's action 1"
