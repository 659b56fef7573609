"""Benchmark: the 88-key LSTM on Nottingham within five minutes of training on this machine —
validation and test NLL per frame against Bai et al. 2018's LSTM (3.29 nats; the goal: within
10 %, i.e. ≤ 3.62) and against the per-key frequency baseline."""
from __future__ import annotations

from dlplay.music.training import MusicSpec, train_music

REFERENCE = 3.29  # Nottingham, LSTM, Bai et al. 2018 (test NLL per frame)
SPEC = MusicSpec(dataset="nottingham", hidden=256, dropout=0.2, lr=3e-3, epochs=200, batch_size=16, window=100,
                 time_limit_s=300.0, length=16)


def run(quick: bool = False) -> dict:
    spec = MusicSpec(**{**SPEC.__dict__, "time_limit_s": 30.0}) if quick else SPEC
    r = train_music(spec)
    return {"val": r.val_nll, "test": r.test_nll, "baseline": r.baseline, "epochs": len(r.rows),
            "train_s": r.rows[-1]["seconds"] if r.rows else r.seconds, "limit": spec.time_limit_s}


def rows(x: dict, row) -> list[dict]:
    within = f"{x['epochs']} epochs in {x['train_s']:.0f} s"
    return [
        row(f"music: Nottingham LSTM test NLL ({within})", x["test"], "nats", REFERENCE * 1.1, at_least=False,
            goal_text=f"≤ {REFERENCE * 1.1:.2f} (Bai et al. LSTM {REFERENCE} + 10 %)"),
        row("music: Nottingham LSTM validation NLL", x["val"], "nats", goal_text="reference"),
        row("music: per-key frequency baseline (validation)", x["baseline"], "nats", goal_text="reference"),
        row("music: test NLL / Bai et al. LSTM", x["test"] / REFERENCE, "×", 1.1, at_least=False,
            goal_text="≤ 1.10×"),
    ]
