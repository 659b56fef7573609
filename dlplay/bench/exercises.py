"""Exercises: seconds from "Check" to the verdict for a passing NumPy exercise — a fresh sandbox started,
the learner's code run on every hidden case, the answers compared — median of several checks, and a
CPU-bound answer stopped by the CPU limit."""
from __future__ import annotations

import statistics
import time

GOAL_S = 1.5


def run(quick: bool = False) -> dict:
    from dlplay.exercises import catalog, checks, sandbox

    if (why := sandbox.available()) is not None:
        return {"error": why}
    times = {}
    for exercise_id in ("perceptron", "dense", "conv2d"):
        e = catalog.BY_ID[exercise_id]
        seconds = []
        for _ in range(3 if quick else 7):
            t0 = time.perf_counter()
            verdict = checks.check(e, e.reference_source)
            seconds.append(time.perf_counter() - t0)
            assert verdict.passed, verdict
        times[exercise_id] = statistics.median(seconds)
    return {"check_s": times}


def rows(x: dict, row) -> list[dict]:
    if "error" in x:
        return [row(f"exercises: no sandbox here ({x['error']})", None, "s")]
    return [row(f"exercises: Check → verdict, {name} (reference answer, sandbox start included)", s, "s", GOAL_S,
                at_least=False, goal_text=f"< {GOAL_S} s") for name, s in x["check_s"].items()]
