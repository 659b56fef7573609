"""Grid-world RL: a tabular agent (Q-learning, SARSA, Expected SARSA) learns to walk from S to G
while the learner edits the world under it, and every episode can be played back as a GIF."""
import time

import numpy as np
import streamlit as st

from dlplay import course, runs
from dlplay.rl import episodes as playback
from dlplay.rl import figures, worlds
from dlplay.rl.agents import METHODS, POLICIES, SCHEDULES
from dlplay.rl.lesson import LESSON, RLSpec
from dlplay_app.ui.live import current, finished_result, live
from dlplay_app.ui.runs import open_page, run_controls, workspace
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
EXPLORES = [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
ENDS = [0.0, 0.001, 0.01, 0.05, 0.1]
ALPHAS = [0.01, 0.05, 0.1, 0.2, 0.5, 0.8, 1.0]
GAMMAS = [0.5, 0.8, 0.9, 0.95, 0.99, 1.0]
EPISODES = [50, 100, 200, 500, 1000, 2000, 5000]
PACES = [0, 50, 20, 5]  # episodes a second at most; 0: full speed
TOOLS = {"wall": "🧱 wall", "pit": "🕳️ pit", "start": "🟦 start", "goal": "🏁 goal", "erase": "⬜ erase"}
GIF_STEPS = 400  # an episode's GIF holds its first steps, one frame each
ss = st.session_state


BOARD = st.components.v2.component("dlplay.gridboard", css=figures.BOARD_CSS, js=figures.BOARD_JS,
                                   isolate_styles=False)


def reset_layout() -> None:
    """A new world: its own grid in the editor."""
    ss[f"{KEY}-text"] = ss[f"{KEY}:layout"] = worlds.builtin(ss[f"{KEY}-world"]).text()
    ss.pop(f"{KEY}:note", None)
    ss.pop(f"{KEY}:stale", None)


def live_world():
    """The world the page's active run is walking (this process's job holds it), else None."""
    view = current(KEY)
    return view.latest("world") if view is not None and view.is_active else None


def send_edit(rows: tuple[str, ...]) -> bool:
    """An edit goes to the running agent's world too; refused there (no path, another size) it is
    not made at all, and the page says why — until the next edit."""
    ss.pop(f"{KEY}:note", None)
    world = live_world()
    if world is not None and world.editable:
        if refused := world.edit(rows):
            ss[f"{KEY}:note"] = f"Not sent to the running agent: {refused[0]}"
            return False
    return True


def cell_clicked() -> None:
    """The board's callback: the pressed cell gets the chosen tool, on the newest layout."""
    cell = (ss.get(f"{KEY}-board") or {}).get("cell")
    rows, _ = worlds.validate(ss.get(f"{KEY}:layout", ss.get(f"{KEY}-text", "")))
    if not isinstance(cell, dict) or rows is None:
        return
    new = worlds.apply_tool(rows, int(cell["r"]), int(cell["c"]), ss.get(f"{KEY}-tool", "wall"))
    if new != rows and send_edit(new):
        # What the box showed before this click may still come back from the browser: an echo.
        ss[f"{KEY}:stale"] = set(recently_drawn()) | set(ss.get(f"{KEY}:stale", ())) | {"\n".join(rows)}
        ss[f"{KEY}-text"] = ss[f"{KEY}:layout"] = "\n".join(new)
    ss[f"{KEY}:clicked"] = True


ECHO_S = 5.0  # how long a text the box was drawn with may come back as an echo


def recently_drawn(text: str | None = None) -> list[str]:
    """The texts the layout box was drawn with in the last ECHO_S seconds (and `text`, now drawn)."""
    now = time.time()
    drawn = [(t, d) for t, d in ss.get(f"{KEY}:drawn", []) if now - t < ECHO_S][-20:]
    if text is not None:
        drawn.append((now, text))
    ss[f"{KEY}:drawn"] = drawn
    return [d for _, d in drawn]


def text_edited() -> None:
    """The layout box's callback. A browser sends every widget's value with each request, so a box
    not yet redrawn since a click changed the layout sends the text it still shows: that echo
    would undo the click (and a click while the agent learns is drawn by the live part alone,
    which leaves the box as it was until the page's next full redraw). Under load the echo can be
    older than the last drawing: any text the box showed before the clicks since the last typed
    edit is an echo; a typed edit is taken, even one back to an earlier text (a typo undone)."""
    text = ss.get(f"{KEY}-text", "")
    if text in ss.get(f"{KEY}:stale", ()) and ss.get(f"{KEY}:layout", text) != text:
        ss[f"{KEY}-text"] = ss[f"{KEY}:layout"]  # the echo: the layout stays as the clicks left it
        return
    ss[f"{KEY}:stale"] = set()
    ss[f"{KEY}:layout"] = text
    rows, found = worlds.validate(text)
    if rows is not None and not found:
        send_edit(rows)


open_page(KEY)
st.title(course.page(KEY).heading)
st.markdown(
    "An agent starts on **S** knowing nothing and learns, episode after episode, to reach **G**: after every "
    "step it nudges its estimate Q(s, a) of the return it expects — each step costs −1, falling into a pit "
    "(**P**, the cliff) costs −100 and puts it back on the start. **Q-learning** learns the value of the best "
    "path; **SARSA** the value of the path it actually walks while exploring (ε-greedy: a random step with "
    "probability ε), so on the cliff it learns to keep away from the edge. Press **Train**, watch the values "
    "(the colours) spread back from the goal and the arrows (the greedy policy) turn towards it, then **click "
    "the board** to place walls, pits, the start or the goal while it learns: the policy re-routes.")

with st.sidebar:
    st.header("World")
    world_name = st.selectbox("World", list(worlds.WORLDS), format_func=worlds.WORLDS.get, key=f"{KEY}-world",
                              on_change=reset_layout, **KEEP)
    is_gym = world_name.startswith("gym-")
    st.header("Agent")
    method = st.radio("Algorithm", list(METHODS), format_func=METHODS.get, key=f"{KEY}-method", **KEEP)
    policy = st.radio("Exploration", list(POLICIES), format_func=POLICIES.get, key=f"{KEY}-policy", **KEEP,
                      help="ε-greedy: a random action with probability ε. Softmax: action a with probability "
                           "∝ exp(Q(s, a)/τ) — better actions more often, never only.")
    sched = st.selectbox("ε (or τ) schedule", list(SCHEDULES), format_func=SCHEDULES.get, key=f"{KEY}-schedule",
                         **KEEP)
    explore = st.select_slider("ε (or τ) at the start", EXPLORES, value=0.1, key=f"{KEY}-explore", **KEEP)
    explore_end = st.select_slider("ε (or τ) at the end", ENDS, value=0.01, key=f"{KEY}-explore-end",
                                   disabled=sched == "constant", **KEEP)
    alpha = st.select_slider("Step size α", ALPHAS, value=0.5, key=f"{KEY}-alpha", **KEEP,
                             help="How far each update moves Q(s, a) towards its target.")
    gamma = st.select_slider("Discount γ", GAMMAS, value=1.0, key=f"{KEY}-gamma", **KEEP,
                             help="1: every future step counts fully; smaller: the near future counts more.")
    n_episodes = st.select_slider("Episodes", EPISODES, value=500, key=f"{KEY}-episodes", **KEEP)
    pace = st.select_slider("Pace", PACES, value=0, key=f"{KEY}-pace", **KEEP,
                            format_func=lambda p: "full speed" if p == 0 else f"{p} episodes/s",
                            help="Slow the agent down to watch it and edit the world while it learns.")
    seed = st.number_input("Seed", 0, 999, 0, key=f"{KEY}-seed", **KEEP)
    st.header("Rewards")
    st.caption("gymnasium's worlds keep their own rewards." if is_gym else
               "Changed while the agent learns, they apply from its next step.")
    step_reward = st.number_input("Each step", -10.0, 10.0, -1.0, 0.5, key=f"{KEY}-rstep", disabled=is_gym, **KEEP)
    goal_reward = st.number_input("The step into G", -100.0, 100.0, 0.0, 1.0, key=f"{KEY}-rgoal", disabled=is_gym,
                                  **KEEP)
    pit_reward = st.number_input("The step into a pit", -1000.0, 0.0, -100.0, 10.0, key=f"{KEY}-rpit",
                                 disabled=is_gym, **KEEP)

own = worlds.builtin(world_name)
if f"{KEY}-text" not in ss:
    ss[f"{KEY}-text"] = own.text()
if is_gym:
    ss[f"{KEY}-text"] = own.text()
text = ss[f"{KEY}:layout"] = ss[f"{KEY}-text"]  # a run reopened from the Runs page sets the box: it wins
rows, found = worlds.validate(text)
rewards = worlds.Rewards(float(step_reward), float(goal_reward), float(pit_reward))
spec = RLSpec(world=world_name, layout="" if rows == own.rows else (text if rows is None else "\n".join(rows)),
              step_reward=rewards.step, goal_reward=rewards.goal, pit_reward=rewards.pit, method=method,
              policy=policy, schedule=sched, explore=float(explore), explore_end=float(explore_end),
              alpha=float(alpha), gamma=float(gamma), episodes=int(n_episodes), pace=int(pace), seed=int(seed))

if (w := live_world()) is not None and w.editable:
    w.set_rewards(rewards)  # idempotent: a reward changed on screen reaches the running agent

if found:
    st.error("**The agent can't train on this world yet.** " + " ".join(found), icon=":material/block:")


def as_the_run_saw(view):
    """Edits and rewards sent to the run while it learned are the run's own settings."""
    run_spec = LESSON.spec_from(view.run.spec)
    w = view.latest("world")
    if w is None or rows is None or w.rows != rows or (w.editable and w.current_rewards != rewards):
        return spec
    return RLSpec(**{**spec.__dict__, "layout": run_spec.layout, "step_reward": run_spec.step_reward,
                     "goal_reward": run_spec.goal_reward, "pit_reward": run_spec.pit_reward})


shown = run_controls(KEY, LESSON, spec, disabled=bool(found), compare_as=as_the_run_saw)


def board(view) -> None:
    """The editable board (with the run's values and greedy path when there is a run), its tools,
    and the greedy path in words."""
    if ss.pop(f"{KEY}:clicked", False) and view is not None and view.is_active:
        st.rerun(scope="app")  # the layout text and the settings notice follow the edit
    if rows is None:
        return
    q = None
    if view is not None:
        q = view.latest("q")
        if q is None and not view.is_active and (res := finished_result(KEY)) is not None:
            q = res.q
    world = worlds.make(world_name, None if is_gym else "\n".join(rows), rewards) if not found else None
    if q is not None and q.shape[0] != len(rows) * len(rows[0]):
        q = None  # the run's table is of another world
    path, reached = world.greedy_path(q) if world is not None and q is not None else (None, False)
    title = (f"Run {view.id} · values V(s) = max Q and the greedy policy — click a cell to edit" if view is not None
             else "The world — click a cell to edit it")
    wind = world.wind if world is not None else None
    left, right = st.columns([3, 1])
    with left:
        BOARD(data={"html": figures.board_svg(rows, q, path, title, wind), "editable": not is_gym}, key=f"{KEY}-board",
              on_cell_change=cell_clicked)
    with right:
        st.radio("A click places", list(TOOLS), format_func=TOOLS.get, key=f"{KEY}-tool", disabled=is_gym)
        if note := ss.get(f"{KEY}:note"):  # until the next edit: the live part redraws twice a second
            st.warning(note, icon=":material/block:")
        shortest = world.shortest() if world is not None else None
        if q is None:
            st.caption(f"Shortest path from S to G: **{shortest}** steps." if shortest else "")
        elif reached:
            st.markdown(f"Greedy path: **{len(path) - 1} steps** from S to G (shortest: {shortest}).")
        else:
            st.markdown("The greedy policy **does not reach G** yet.")
        if is_gym:
            st.caption("gymnasium's world: its cells can't be edited.")


def render(view) -> None:
    board(view)
    metrics = view.metrics()
    if not any(m.get("split") == "episode" for m in metrics):
        return
    world = worlds.make(world_name, None if is_gym else "\n".join(rows), rewards) if not found else None
    c1, c2 = st.columns(2)
    ret_fig, len_fig = figures.curves(view.id, metrics, world.shortest() if world is not None else None)
    c1.plotly_chart(ret_fig, width="stretch", key=f"{KEY}-returns")
    c2.plotly_chart(len_fig, width="stretch", key=f"{KEY}-lengths")


run_spec = LESSON.spec_from(shown.run.spec) if shown is not None else None
st.plotly_chart(figures.schedule(shown.id if shown is not None else None, run_spec, spec), width="stretch",
                key=f"{KEY}-schedule-fig")
with st.expander("The layout as text", expanded=bool(found)):
    st.caption("# wall · S start · G goal · P pit · . free. Edits here reach a running agent too.")
    recently_drawn(st.text_area("Layout", key=f"{KEY}-text", height=200, on_change=text_edited,
                                disabled=is_gym, persist_state="session"))
if shown is None:
    board(None)
live(KEY, render)


# --- play an episode back ------------------------------------------------------------------------------

@st.cache_data(max_entries=32, show_spinner="Drawing the episode…")
def episode_gif(run_id: int, episode: int, grid: tuple[str, ...], states: np.ndarray) -> bytes:
    return playback.episode_gif(grid, states, max_steps=GIF_STEPS)


result = finished_result(KEY)
if result is not None and result.episodes:
    st.subheader(f"Run {shown.id}: play an episode back")
    n = result.episodes
    if ss.get(f"{KEY}-episode", n) > n:
        ss[f"{KEY}-episode"] = n
    k = st.number_input(f"Episode (1 to {n:,})", 1, n, n, key=f"{KEY}-episode")
    steps = int(result.lengths[k - 1])
    if steps == 0:
        st.caption("This episode has no steps.")
    else:
        data = episode_gif(shown.id, int(k), result.rows(k), result.paths[k - 1])
        c1, c2 = st.columns([2, 1])
        c1.image(data, caption=f"Run {shown.id} · episode {k}: {steps:,} steps, return {result.returns[k - 1]:.0f}"
                 + (f" (the first {GIF_STEPS} shown)" if steps > GIF_STEPS else ""))
        c2.download_button("Download the GIF", data, file_name=f"run{shown.id}-episode{k}.gif", mime="image/gif",
                           key=f"{KEY}-gif", icon=":material/download:")
        c2.caption(f"One frame per step ({min(steps, GIF_STEPS):,} frames); the trail shows where the agent has "
                   "been in the episode.")
    if result.stopped:
        st.info(f"This run was {result.stopped}.", icon=":material/stop_circle:")

st.subheader("All runs of this page")
table = []
for r in runs.get_store().list(workspace(), page=KEY):
    s = r.summary or {}
    if "last100_return" not in s:
        continue
    sp = LESSON.spec_from(r.spec)
    table.append({"run": r.id, "world": sp.world, "algorithm": METHODS.get(sp.method, sp.method),
                  "exploration": f"{POLICIES.get(sp.policy, sp.policy)} {sp.explore:g}", "α": sp.alpha, "γ": sp.gamma,
                  "episodes": s["episodes"], "return (last 100)": s["last100_return"],
                  "steps (last 100)": s["last100_length"], "greedy path": s["greedy_steps"], "shortest": s["shortest"]})
if table:
    st.dataframe(table, hide_index=True, key=f"{KEY}-runs", column_config={
        "return (last 100)": st.column_config.NumberColumn(format="%.1f"),
        "steps (last 100)": st.column_config.NumberColumn(format="%.1f")})
else:
    st.caption("No finished run yet: press **Train**.")

st.subheader("What to notice")
st.markdown(
    "- **Windy grid world** (SARSA, ε 0.1, α 0.5): the first episode takes hundreds of steps; after a few "
    "thousand steps in all, episodes take about 17–19 steps against the shortest 15 — the gap is exploration "
    "(ε = 0.1 keeps taking random steps, and the wind punishes them).\n"
    "- **Cliff walking**: SARSA's greedy path climbs away from the cliff (a random step near the edge costs −100 "
    "and SARSA learns the value of the path it really walks); Q-learning's runs right along the edge — the "
    "shortest path, but while it explores it falls in more often, so its return per episode is *lower*. Set "
    "ε to decay to 0 (a decaying schedule) and both end up on the short path.\n"
    "- **Edit while it learns**: with the pace slowed down, wall off the greedy path — the arrows next to the "
    "new wall turn within a few episodes, then the change spreads back to the start. A pit on the path does "
    "the same, faster: −100 is a loud signal.\n"
    "- **Rewards**: a positive reward for the goal with γ = 1 and no step cost makes every path equally good: "
    "the arrows stop pointing anywhere in particular. γ < 1 brings back the preference for short paths.\n"
    "- **gymnasium**: FrozenLake-v1 and CliffWalking-v1 run through the same agents; on slippery ice the "
    "greedy path drawn is the intended one — the ice sends the agent elsewhere two times in three.")
