"""Hidden checks: the learner's function, run in the sandbox on inputs chosen here, against the
reference run here. A failed check names the input, the expected and the received value and the
first place they differ; an answer that matches a typical mistake of the exercise gets that
mistake's own message. The expected values never leave the server.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import sandbox
from .catalog import Exercise, show


@dataclass
class Check:
    name: str
    passed: bool
    message: str = ""
    mistake: str = ""  # the typical mistake it was recognised as (its message), for a class's tally


@dataclass
class Verdict:
    """What the learner reads: each check, and `error` when the code could not be run at all
    (a syntax error, a limit hit, a sandbox that would not start)."""
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    printed: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.passed for c in self.checks)

    def as_json(self) -> dict:
        return {"passed": self.passed, "checks": [{k: v for k, v in c.__dict__.items() if k != "mistake"}
                                                  for c in self.checks], "error": self.error}

    def failure(self) -> str:
        """What went wrong, in a few words a teacher can tally across a class: the typical mistake recognised,
        else the first failed check's name ("" when it passed)."""
        if self.error:
            return self.error.splitlines()[0][:200]
        failed = [c for c in self.checks if not c.passed]
        return (failed[0].mistake or f"{failed[0].name}: wrong") if failed else ""


def check(exercise: Exercise, code: str, limits: sandbox.Limits = sandbox.Limits(), *,
          unisolated: bool = False) -> Verdict:
    """Run every hidden check of `exercise` on the learner's `code` (in the sandbox; `unisolated`: see
    `sandbox.run`)."""
    cases = exercise.cases(np.random.default_rng(0))
    try:
        outcome = sandbox.run(code, exercise.function, [c.args for c in cases], limits, unisolated=unisolated)
    except sandbox.Unavailable as exc:
        return Verdict(error=f"Your code can't be checked here: {exc}.")
    if outcome.stopped or outcome.error:
        return Verdict(error=f"Your code {outcome.stopped}." if outcome.stopped else outcome.error,
                       printed=outcome.printed, seconds=outcome.seconds)
    verdict = Verdict(printed=outcome.printed, seconds=outcome.seconds)
    reference = exercise.reference()
    for case, result in zip(cases, outcome.results):
        verdict.checks.append(_one(exercise, reference, case, result))
    return verdict


def _one(exercise: Exercise, reference, case, result: dict) -> Check:
    if "error" in result:
        return Check(case.name, False, f"For {case.shown()}: your function raised\n{result['error']}")
    got, expected = sandbox.decode(result["value"]), case.expected(reference)
    problem = difference(expected, got, exercise.tol)
    if problem is None:
        return Check(case.name, True)
    for mistake in exercise.mistakes:
        try:
            wrong = mistake.wrong(*case.args)
        except Exception:  # noqa: BLE001 - a typical mistake that does not apply to this input
            continue
        if difference(wrong, got, exercise.tol) is None:
            return Check(case.name, False, f"For {case.shown()}: expected {show(expected)}, got {show(got)}: "
                                           f"{mistake.says}", mistake.says)
    return Check(case.name, False, f"For {case.shown()}: expected {show(expected)}, got {show(got)} — {problem}.")


def difference(expected: Any, got: Any, tol: float) -> str | None:
    """Where `got` first differs from `expected` (None when they agree within `tol`), in words."""
    if isinstance(expected, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            return f"expected {len(expected)} values back, got {_kind(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            if (d := difference(e, g, tol)) is not None:
                return f"value {i + 1} of {len(expected)}: {d}"
        return None
    if isinstance(expected, (bool, np.bool_)):
        return None if got is bool(expected) or got == bool(expected) else f"expected {bool(expected)}"
    e = np.asarray(expected, dtype=float)
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"expected a number or an array, got {_kind(got)}"
    if e.shape != g.shape:
        hint = " (are the dimensions swapped?)" if sorted(e.shape) == sorted(g.shape) else ""
        return f"expected shape {e.shape}, got {g.shape}{hint}"
    bad = ~np.isclose(g, e, rtol=tol, atol=tol, equal_nan=True)
    if not bad.any():
        return None
    at = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"they first differ at index {at}: {e[at]:.6g} expected, {g[at]:.6g} received" if at else
            f"{float(e):.6g} expected, {float(g):.6g} received")


def _kind(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"an array of shape {v.shape}"
    return f"{type(v).__name__} {show(v)}"


__all__ = ["Check", "Verdict", "check", "difference"]
