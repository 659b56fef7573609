"""Assignments and the class view (issue 29 parts 5 and 6): a teacher sets an assignment and shares its link;
two students join, train, check exercises and hand in; each sees only their own checklist, which ticks when a
run meets a goal and stays unticked for one that misses it; the teacher — behind the operator's key — sees
both, their spread, their common mistakes and who is stuck, exports a CSV and tells a genuine hand-in from an
edited one."""
from __future__ import annotations

import io
import json
import time
import zipfile

import pytest

from dlplay import data, work, workspaces
from dlplay.classify import LESSON as MLP
from dlplay.classify import ClassifierSpec
from dlplay.classroom import assignments, classview, handin, standing
from dlplay.classroom.assignments import Assignment, Condition, Goal
from dlplay.exercises import catalog, progress
from dlplay.rl.lesson import LESSON as RL
from dlplay.train import TrainConfig

TEACHER_KEY = "a-long-operator-chosen-teacher-key-42"
SMALL = Goal("mlp", "test accuracy ≥ 50 % with ≤ 20,000 parameters",
             [Condition("test_acc", ">=", 0.5), Condition("n_params", "<=", 20000)])


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLPLAY_SHARED", "1")
    monkeypatch.setenv("DLPLAY_TEACHER_KEY", TEACHER_KEY)
    return tmp_path / "home"


def _mlp(ws: str, hidden: int):
    run, job = work.start_run(work.Visitor(ws, f"tab-{ws[:4]}"), MLP, ClassifierSpec(
        dataset="mnist5k", hidden=(hidden,), train=TrainConfig(epochs=1)), ds=data.load("mnist5k"))
    assert job.wait(120) and job.state == "done", job.error
    return run.id


def _rl(ws: str, method: str):
    run, job = work.start_run(work.Visitor(ws, f"tab-{ws[:4]}"), RL, RL.spec_type(world="cliff", method=method))
    assert job.wait(120) and job.state == "done", job.error
    return run.id


def _assignment() -> Assignment:
    return assignments.create(Assignment(
        "Lab 2: small nets", pages=["mlp", "rl"], exercises=["perceptron"],
        goals=[SMALL, assignments.EXAMPLES["Grid world: SARSA's path keeps off the cliff"]],
        presets={"mlp": {"mlp-dataset": "mnist5k"}}, hidden={"mlp": ["mlp-opt"]}))


def test_the_checklist_ticks_for_a_run_that_meets_a_goal_and_not_for_one_that_misses(home):
    a = _assignment()
    assert len(a.code) >= 16 and assignments.get(a.code).goals[0].conditions[1].value == 20000
    ws = workspaces.new_key()
    member = assignments.join(a.code, ws, "  Ada   Lovelace ")
    assert member.name == "Ada Lovelace"
    wide = _mlp(ws, 64)  # 784·64 + 64 + 64·10 + 10 = 50,890 parameters: too many
    s = standing.of(a, member)
    assert s.goals[0].run is None and s.goals[0].tried == 1 and s.goals[0].best > 0.5
    narrow = _mlp(ws, 16)  # 12,730 parameters
    qlearning = _rl(ws, "qlearning")
    s = standing.of(a, member)
    assert s.goals[0].run == narrow and s.goals[1].run is None and wide != narrow  # Q-learning walks the edge
    sarsa = _rl(ws, "sarsa")
    s = standing.of(a, member)
    assert s.goals[1].run == sarsa != qlearning and s.done == 2 and s.total == 3 and not s.complete
    progress.checked(ws, "perceptron", catalog.BY_ID["perceptron"].reference_source, True)
    assert standing.of(a, member).complete


def test_a_hand_in_verifies_and_an_edited_one_fails_its_checksum(home):
    a = _assignment()
    ws = workspaces.new_key()
    member = assignments.join(a.code, ws, "Grace")
    _mlp(ws, 16)
    s = standing.of(a, member)
    from dlplay.runs import get_store

    data_, sha = handin.bundle(a, s, get_store().list(ws))
    assignments.handed_in(a.code, ws, sha)
    names = zipfile.ZipFile(io.BytesIO(data_)).namelist()
    assert {"report.html", "report.ipynb", "exercises.json", "checklist.json", "manifest.json"} <= set(names)
    assert any(n.startswith("runs/") and n.endswith(".json") for n in names)
    ok, problems, manifest = handin.verify(data_, assignments.members(a.code))
    assert ok and not problems and manifest["name"] == "Grace"

    def edited(name: str, change) -> bytes:
        src, buf = zipfile.ZipFile(io.BytesIO(data_)), io.BytesIO()
        with zipfile.ZipFile(buf, "w") as out:
            for n in src.namelist():
                out.writestr(n, change(src.read(n)) if n == name else src.read(n))
        return buf.getvalue()

    better = edited("checklist.json", lambda b: b.replace(b'"met": false', b'"met": true'))
    ok, problems, _ = handin.verify(better)
    assert not ok and problems == ["checklist.json was changed after it was handed in"]
    forged = edited("manifest.json", lambda b: b.replace(b'"Grace"', b'"Mallory"'))
    ok, problems, _ = handin.verify(forged)
    assert not ok and "signature is not this server's" in problems[0]
    ok, problems, _ = handin.verify(b"not a zip")
    assert not ok and "not a dlplay hand-in" in problems[0]


def test_the_teacher_key_opens_the_class_view_only_on_a_shared_server(home, monkeypatch):
    assert classview.teacher_ok(TEACHER_KEY) and not classview.teacher_ok("guess") and not classview.teacher_ok("")
    monkeypatch.delenv("DLPLAY_TEACHER_KEY")
    assert not classview.teacher_ok("") and not classview.teacher_ok(None)  # no key set: nobody
    monkeypatch.delenv("DLPLAY_SHARED")
    assert classview.teacher_ok(None)  # a personal machine: whoever sits at it


def _page(apptest, page: str, ws: str, **state):
    at = apptest(page)
    at.session_state["_dlplay_ws"] = ws
    for k, v in state.items():
        at.session_state[k] = v
    return at


@pytest.mark.slow
def test_two_students_and_their_teacher(apptest, home):
    a = _assignment()
    ada, bob = workspaces.new_key(), workspaces.new_key()
    for ws, name in ((ada, "Ada"), (bob, "Bob")):
        at = _page(apptest, "pages/assignment.py", ws)
        at.query_params["assignment"] = a.code
        at.run()
        at.text_input(key="assign-name").input(name)
        at.button(key="FormSubmitter:assign-join-Join this assignment").click().run()
        assert not at.exception and assignments.member(a.code, ws).name == name
    _mlp(ada, 16)  # Ada meets the MLP goal; Bob's net is too big, and his perceptron rule has the wrong sign
    _mlp(bob, 64)
    from dlplay.exercises import checks

    wrong = "def update(w, x, y, lr):\n    return w - lr * y * x if y * (w @ x) <= 0 else w\n"
    verdict = checks.check(catalog.BY_ID["perceptron"], wrong)
    progress.checked(bob, "perceptron", wrong, verdict.passed, verdict.failure())

    at = _page(apptest, "pages/assignment.py", ada, assignment=a.code).run()  # Ada sees her checklist only
    text = " ".join(m.value for m in at.markdown).replace("\\", "")  # (Markdown escapes dropped)
    assert "✅ test accuracy ≥ 50 % with ≤ 20,000 parameters — met by run" in text and "Bob" not in text
    at.button(key="assign-handin").click().run()
    assert not at.exception and at.get("download_button")
    assert assignments.member(a.code, ada).bundle_sha

    at = _page(apptest, "pages/assignment.py", bob, assignment=a.code).run()
    text = " ".join(m.value for m in at.markdown).replace("\\", "")  # (Markdown escapes dropped)
    assert "⬜ test accuracy ≥ 50 % with ≤ 20,000 parameters — best so far" in text
    assert "the update has the wrong sign" in text

    at = _page(apptest, "pages/teacher.py", workspaces.new_key()).run()  # a student can't open it
    assert not at.tabs and at.text_input(key="teach-key-typed")
    at.text_input(key="teach-key-typed").input("guess")
    at.button(key="FormSubmitter:teach-login-Open").click().run()
    assert any("not this server's teacher key" in e.value for e in at.error)

    at = _page(apptest, "pages/teacher.py", workspaces.new_key(), **{"teacher-key": TEACHER_KEY}).run()
    at.selectbox(key="teach-view").set_value(a.code).run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("name")
    assert list(table.index) == ["Ada", "Bob"]
    assert table.loc["Ada", SMALL.label].startswith("✓ run") and table.loc["Bob", SMALL.label].startswith("best")
    assert table.loc["Bob", "exercise: perceptron"].startswith("✗") and table.loc["Ada", "handed in"]
    assert any("1 × The perceptron's update rule" in m.value and "wrong sign" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) >= 1  # the class's spread on the MLP goal
    csv = [d for d in at.get("download_button") if d.proto.label == "Gradebook (CSV)"]
    assert csv
    rows = classview.csv(a, classview.standings(a)).decode().splitlines()
    assert rows[0].startswith("name,") and rows[1].startswith("Ada,1,") and rows[2].startswith("Bob,0,")

    late = classview.standings(a)
    assert [s.stuck(time.time() + 21 * 60) for s in late] == [True, True] and not any(s.stuck() for s in late)


def test_a_teacher_composes_and_shares_an_assignment(apptest, home):
    at = _page(apptest, "pages/teacher.py", workspaces.new_key(), **{"teacher-key": TEACHER_KEY}).run()
    at.text_input(key="teach-title").input("Lab 4: CNNs")
    at.multiselect(key="teach-pages").set_value(["cnn"])
    at.multiselect(key="teach-exercises").set_value(["conv_size"])
    at.text_area(key="teach-goals").input("cnn | test accuracy ≥ 99 % | test_acc >= 0.99")
    at.text_area(key="teach-hidden").input("cnn: cnn-aug")
    at.button(key="FormSubmitter:teach-compose-Create and share").click().run()
    assert not at.exception
    made = assignments.every()[0]
    assert made.title == "Lab 4: CNNs" and made.goals[0].conditions[0].value == 0.99 and made.hidden == {"cnn": ["cnn-aug"]}
    assert any(made.link() in c.value for c in at.code)
    at.text_area(key="teach-goals").input("cnn | nonsense")
    at.button(key="FormSubmitter:teach-compose-Create and share").click().run()
    assert any("write page | label | conditions" in e.value for e in at.error)
    json.dumps(made.to_json())


def test_the_welcome_page_shows_the_assignment_and_how_far_along(apptest, home, monkeypatch):
    monkeypatch.delenv("DLPLAY_SHARED")  # a personal machine: one workspace
    a = _assignment()
    from dlplay.workspaces import LOCAL_WORKSPACE

    assignments.join(a.code, LOCAL_WORKSPACE, "Ada")
    at = apptest("pages/home.py").run()
    assert not at.exception
    said = [i.value.replace("\\", "") for i in at.info]  # (Markdown escapes dropped)
    assert any("Lab 2: small nets" in m and "0 of 3 done" in m for m in said), said


def test_what_a_teacher_types_is_read_as_goals_presets_and_hidden_controls():
    g = assignments.parse_goal("mlp | small and good | test_acc >= 0.98; n_params <= 20000; spec.method == sarsa")
    assert [(c.key, c.op, c.value) for c in g.conditions] == [("test_acc", ">=", 0.98), ("n_params", "<=", 20000.0),
                                                               ("spec.method", "==", "sarsa")]
    with pytest.raises(ValueError, match="a condition is key >= value"):
        assignments.parse_goal("mlp | x | test_acc about 0.9")
    presets = assignments.parse_presets("http://127.0.0.1:8501/digit_classifier?mlp-epochs=1&mlp-layers=2\n"
                                        "rl: rl-world=cliff&rl-method=sarsa")
    assert presets == {"mlp": {"mlp-epochs": "1", "mlp-layers": "2"}, "rl": {"rl-world": "cliff", "rl-method": "sarsa"}}
    assert assignments.parse_hidden("mlp: mlp-opt, mlp-lr\n\ncnn: cnn-aug") == {"mlp": ["mlp-opt", "mlp-lr"],
                                                                                "cnn": ["cnn-aug"]}
