"""Trainings with the learner's code as runs: started like every run (the fair-use limits, the store, the
scheduler), kept in the workspace's run store marked "your code" — the code itself is in the run's settings
— with both curves, yours and the reference's."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..runs.codec import Codec
from ..runs.lesson import Lesson
from . import catalog, training

@dataclass
class FitSpec:
    exercise: str = "perceptron"
    code: str = ""
    seed: int = 0
    unisolated: bool = False  # a personal machine whose learner agreed to run without the sandbox


@dataclass
class FitResult:
    spec: FitSpec
    yours: list = field(default_factory=list)  # metric rows of the training with the learner's code
    reference: list = field(default_factory=list)
    metric: str = "accuracy"
    agree: bool = False
    stopped: dict = field(default_factory=dict)  # who → why it ended early (Stop, a limit, an error)

    def last(self) -> dict | None:
        return self.yours[-1] if self.yours else None


def train(spec: FitSpec, job) -> FitResult:
    from ..limits import shared

    exercise = catalog.BY_ID[spec.exercise]
    out = training.side_by_side(exercise, spec.code, job, unisolated=spec.unisolated and not shared(),
                                seed=spec.seed)
    result = FitResult(spec, out["rows"]["yours"], out["rows"]["reference"], out["metric"], out["agree"],
                       out["stopped"])
    if job is not None and job.stop_requested:
        t = training.TRAINERS[exercise.id]
        job.stopped_at(f"stopped after {len(result.yours)} of {t.rows} {t.unit}s with your code")
    return result


def _headline(r: FitResult) -> str:
    if (last := r.last()) is None:
        return "no rows"
    value = f"{last[r.metric]:.1%}" if r.metric == "accuracy" else f"{last[r.metric]:.4g}"
    return f"{r.metric} {value}" + (" · as the reference" if r.agree else "")


def _figures(r: FitResult) -> dict:
    last = r.last() or {}
    return {r.metric: last.get(r.metric), "agrees_with_reference": r.agree}


CODEC = Codec(FitResult, models={}, headline=_headline, extra=_figures)


def brief(spec: FitSpec) -> str:
    return f"✍️ your code · {catalog.BY_ID[spec.exercise].title}"


def work(spec: FitSpec):
    from ..limits import Work

    t = training.TRAINERS[spec.exercise]
    return Work(t.rows, t.unit, t.size, "examples", times=2)  # yours, then the reference's


def data(spec: FitSpec) -> tuple[str, dict]:
    t = training.TRAINERS[spec.exercise]
    return t.model, {"name": f"exercise:{spec.exercise}", "kind": "generated"}


# No `cost`: a learner sets no sizes here, and the sandbox's own limits cap the memory and time it takes.
LESSON = Lesson(page="ex", spec_type=FitSpec, train=train, save=CODEC.save, load=CODEC.load, brief=brief,
                curves=("accuracy", "loss", "val_loss", "steps", "gap"), work=work, data=data)

__all__ = ["FitResult", "FitSpec", "LESSON"]
