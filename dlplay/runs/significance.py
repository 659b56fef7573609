"""Is this difference real? Two groups of runs — two settings, each trained over seeds — compared on their
final figure: the difference of the means with its 95 % confidence interval (Welch's t-test, which does not
assume the two spreads equal; SciPy) and a verdict in plain words."""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from .lesson import Figure
from .repeats import Spread, max_seeds, spread

LEVEL = 0.95


@dataclass
class Verdict:
    a: Spread
    b: Spread
    diff: float  # mean of B − mean of A, in the figure's units
    low: float | None  # the 95 % interval of `diff` (None when it can't be had)
    high: float | None
    p: float | None
    real: bool | None  # likely real, could be noise, or no telling (one run on a side)
    words: str


def compare(a_values, b_values, figure: Figure, names: tuple[str, str] = ("A", "B")) -> Verdict:
    """B against A on `figure`: which is better, by how much, and whether the seeds' spread could explain it."""
    a, b = spread(a_values), spread(b_values)
    diff = b.mean - a.mean
    if a.n < 2 or b.n < 2:
        return Verdict(a, b, diff, None, None, None, None,
                       f"{_ahead(diff, figure, names)} With one run on a side there is no telling how much of that "
                       "is the seed's: train each setting over 3 seeds or more.")
    if a.std == 0 and b.std == 0:  # every seed gave the same figure (a deterministic lesson)
        real = diff != 0
        return Verdict(a, b, diff, diff, diff, 0.0 if real else 1.0, real,
                       f"{_ahead(diff, figure, names)} Every seed gave the same result on each side, so the "
                       "difference is exactly that." if real else "Both settings give exactly the same result.")
    test = stats.ttest_ind(list(b_values), list(a_values), equal_var=False)
    interval = test.confidence_interval(LEVEL)
    low, high, p = float(interval.low), float(interval.high), float(test.pvalue)
    real = bool(p < 1 - LEVEL)
    seeds = f"with {a.n} and {b.n} seeds" if a.n != b.n else f"with {a.n} seeds each"
    scale, unit = figure.scale(), figure.unit
    if real:
        words = (f"{_better(diff, figure, names)} by {abs(diff) * scale:.2g} ± {(high - low) / 2 * scale:.2g}{unit} "
                 f"(95 % interval of {names[1]} − {names[0]}: {low * scale:+.2g} to {high * scale:+.2g}); {seeds} "
                 "that is likely real "
                 f"(Welch's t-test, p = {p:.2g}).")
    else:
        more = next((n for n in (5, 10) if max(a.n, b.n) < n <= max_seeds()), None)
        hint = f"try {more} seeds each" if more else "only a bigger difference would show at this many seeds"
        words = (f"{_ahead(diff, figure, names)} The 95 % interval of {names[1]} − {names[0]} ({low * scale:+.2g} to "
                 f"{high * scale:+.2g}{unit}) "
                 f"includes no difference at all: {seeds} that could be noise from the seed — {hint} "
                 f"(Welch's t-test, p = {p:.2g}).")
    return Verdict(a, b, diff, low, high, p, real, words)


def _better(diff: float, figure: Figure, names) -> str:
    b_better = diff > 0 if figure.higher else diff < 0
    return f"{names[1] if b_better else names[0]} is better"


def _ahead(diff: float, figure: Figure, names) -> str:
    if diff == 0 or math.isclose(diff, 0.0, abs_tol=1e-15):
        return f"{names[0]} and {names[1]} have the same mean {figure.label}."
    return f"{_better(diff, figure, names).replace(' is better', ' is ahead')} on {figure.label} by " \
           f"{abs(diff) * figure.scale():.2g}{figure.unit} on average."


__all__ = ["LEVEL", "Verdict", "compare"]
