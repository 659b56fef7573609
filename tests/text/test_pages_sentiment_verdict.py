"""The sentiment page's verdict and its run after a new run and after a reload (issue 25):
after training a new run the review box was empty and the radio showed occlusion, yet "Run 31
says: positive" stood under them for the old review, scored with integrated gradients; and a
reload dropped the run on screen and the typed review."""
import pytest

from tests.conftest import chart_titles, job_of

PAGE = "pages/text/sentiment.py"
KEY = "sent"
REVIEW = "A wonderful film: brilliant acting, a moving story and a great ending. I loved it."


@pytest.fixture(autouse=True)
def own_store(monkeypatch, tmp_path):
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))


def train(at, epochs: int) -> int:
    at.number_input(key=f"{KEY}-epochs").set_value(epochs).run(timeout=60)
    at.button(key=f"{KEY}-train").click().run(timeout=60)
    job = job_of(at, KEY)
    return job


def verdicts(at) -> list[str]:
    return [m.value for m in at.markdown if " says: " in m.value]


def method_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Green words pushed"))


@pytest.mark.slow
def test_a_verdict_is_the_one_of_the_run_review_and_method_on_screen(apptest):
    at = apptest(PAGE).run(timeout=60)
    at.selectbox(key=f"{KEY}-corpus").set_value("imdb")  # the folder's 2,500 reviews: seconds
    at.selectbox(key=f"{KEY}-kind").set_value("bag").run(timeout=60)
    job = train(at, 2)
    assert job.wait(180) and job.state == "done", job.error
    at.run(timeout=60)
    first = at.session_state[f"run:{KEY}"]
    at.text_area(key=f"{KEY}-review").input(REVIEW).run(timeout=60)
    at.radio(key=f"{KEY}-method").set_value("ig").run(timeout=60)
    assert verdicts(at) and verdicts(at)[0].startswith(f"**Run {first} says: positive**")
    assert "integrated gradients" in method_caption(at)

    job = train(at, 3)  # a new run: while it trains, the review stays and no verdict is shown
    second = at.session_state[f"run:{KEY}"]
    assert second != first
    if job.is_active:
        assert at.text_area(key=f"{KEY}-review").value == REVIEW and at.text_area(key=f"{KEY}-review").disabled
        assert not verdicts(at)
    assert job.wait(180) and job.state == "done", job.error
    at.run(timeout=60)
    assert not at.exception
    # The box, the radio and the verdict agree: the new run reads the review on screen by the method on screen.
    assert at.text_area(key=f"{KEY}-review").value == REVIEW and at.radio(key=f"{KEY}-method").value == "ig"
    assert len(verdicts(at)) == 1 and verdicts(at)[0].startswith(f"**Run {second} says: "), verdicts(at)
    assert "integrated gradients" in method_caption(at)
    at.radio(key=f"{KEY}-method").set_value("occlusion").run(timeout=60)
    assert "left out" in method_caption(at) and verdicts(at)[0].startswith(f"**Run {second} says: ")
    at.text_area(key=f"{KEY}-review").input("").run(timeout=60)
    assert not verdicts(at) and any("Type a review" in i.value for i in at.info)
    at.text_area(key=f"{KEY}-review").input(REVIEW).run(timeout=60)

    # A reload: a new session with the same address. The run, its curves, the review section and the
    # review typed are back.
    again = apptest(PAGE)
    again.query_params.update({k: at.query_params.get_all(k) if hasattr(at.query_params, "get_all") else v
                               for k, v in at.query_params.items()})
    again.run(timeout=60)
    assert not again.exception
    assert again.session_state[f"run:{KEY}"] == second
    assert f"Run {second} · loss" in chart_titles(again)
    assert any(h.value == f"Run {second} reads your review" for h in again.subheader)
    assert again.text_area(key=f"{KEY}-review").value == REVIEW
    assert verdicts(again) and verdicts(again)[0].startswith(f"**Run {second} says: positive**")
