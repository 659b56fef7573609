"""Benchmark: the sentiment models on full IMDB (25,000 training and 25,000 test reviews, the
CSV form in the data directory) — test accuracy and seconds of training for the bigram bag,
an LSTM and a Transformer at the settings below — and the batching pipeline: an epoch of
the same LSTM with length-bucketed batches read out at each text's last word (dlplay's way),
bucketed and packed with `pack_padded_sequence`, and the naive loop (random batches, every
one padded to the maximum length), interleaved, median of three.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import replace

import torch

from dlplay.text import batches, corpus, fitting, models
from dlplay.text.models import NetSpec
from dlplay.text.sentiment import SentimentSpec, prepare, train_sentiment
from dlplay.train import TrainConfig

BASE = TrainConfig(optimizer="adamw", lr=3e-3, l2=0.01, epochs=3, batch_size=64, max_grad_norm=1.0,
                   schedule="onecycle", log_every=50)
# (name, spec, training-time budget in seconds): the goals.
GOALS = (
    ("bag of embeddings + bigrams", SentimentSpec(corpus="imdb_csv", vocab_size=30_000, max_len=800, val_share=0.0,
                                                  net=NetSpec(kind="bag", embed_dim=64, dropout=0.2),
                                                  train=replace(BASE, epochs=4)), 0.89, 60),
    ("LSTM", SentimentSpec(corpus="imdb_csv", vocab_size=20_000, max_len=200, val_share=0.0,
                           net=NetSpec(kind="lstm", embed_dim=64, hidden=64, pool="max", dropout=0.3),
                           train=replace(BASE, lr=5e-3, epochs=4)), 0.87, 180),
    ("Transformer", SentimentSpec(corpus="imdb_csv", vocab_size=20_000, max_len=320, val_share=0.0,
                                  net=NetSpec(kind="transformer", embed_dim=32, heads=2, ff=64, layers=1,
                                              dropout=0.1),
                                  train=replace(BASE, lr=3e-3, epochs=5)), 0.87, 180),
)


def time_to_accuracy(quick: bool = False) -> list[dict]:
    out = []
    for name, spec, goal, budget in GOALS:
        if quick:
            spec = replace(spec, n_train=5000, n_test=5000)
        r = train_sentiment(spec)
        out.append({"name": name, "test_acc": r.test_acc, "train_s": r.train_seconds, "epochs": len(r.rows),
                    "params": r.n_params, "goal": goal, "budget_s": budget, "n_train": r.n_train, "n_test": r.n_test,
                    "setup": f"{spec.max_len} words, vocab {spec.vocab_size:,}, {spec.train.epochs} epochs"})
    return out


def _epoch(model, enc, cfg, way: str) -> float:
    """Seconds for one training epoch of `model` on `enc`, batched `way`."""
    model.packed = way == "packed"
    opt = fitting.Optimizers(model, cfg, 10**6)
    gen = torch.Generator().manual_seed(0)
    order = (batches.random_batches(len(enc), cfg.batch_size, gen) if way == "naive"
             else batches.bucketed(enc.lengths, cfg.batch_size, gen))
    model.train()
    t0 = time.perf_counter()
    for idx in order:
        ids, lengths, y = batches.take(enc, idx, trim=way != "naive")
        loss = torch.nn.functional.cross_entropy(model(ids, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def _loop_epoch(model, enc, cfg) -> float:
    """Seconds for one epoch of `model` in the one training loop (`fitting.fit` → `dlplay.train.Loop`),
    on the bare loop's batches (bucketed, last-word read-out) and without clipping, as it has none."""
    model.packed = False
    t0 = time.perf_counter()
    fitting.fit(model, enc, None, replace(cfg, epochs=1, max_grad_norm=0.0))
    return time.perf_counter() - t0


def pipeline(quick: bool = False) -> dict:
    spec = SentimentSpec(corpus="imdb_csv", n_train=2000 if quick else 5000, n_test=100, max_len=400, val_share=0.0,
                         net=NetSpec(kind="lstm", embed_dim=64, hidden=64))
    p = prepare(spec)
    lists = {"ours": batches.bucketed(p.train.lengths, 64, torch.Generator().manual_seed(0)),
             "naive": batches.random_batches(len(p.train), 64, torch.Generator().manual_seed(0))}
    padding = {"ours": batches.padding_share(p.train, list(lists["ours"])),
               "naive": batches.padding_share(p.train, list(lists["naive"]), trim=False)}
    seconds: dict[str, list[float]] = {"ours": [], "packed": [], "naive": [], "loop": []}
    for _ in range(1 if quick else 3):
        for way in seconds:
            torch.manual_seed(0)
            model = models.build(spec.net, p.vocab.size, 2, spec.max_len)
            seconds[way].append(_loop_epoch(model, p.train, spec.train) if way == "loop"
                                else _epoch(model, p.train, spec.train, way))
    med = {k: statistics.median(v) for k, v in seconds.items()}
    return {"n": len(p.train), "max_len": spec.max_len, "seconds": med, "padding": padding,
            "texts_per_s": {k: len(p.train) / v for k, v in med.items()}, "mean_len": float(p.train.lengths.float().mean())}


def run(quick: bool = False) -> dict:
    try:
        corpus.load("imdb_csv")
    except Exception as exc:  # noqa: BLE001 - the benchmark says what is missing and goes on
        return {"missing": str(exc)}
    return {"pipeline": pipeline(quick), "goals": time_to_accuracy(quick), "threads": torch.get_num_threads()}


def rows(t: dict, row) -> list[dict]:
    if "missing" in t:
        return [row(f"text: skipped ({t['missing'][:80]}…)", None, "")]
    p = t["pipeline"]
    tps = p["texts_per_s"]
    out = [
        row(f"text: LSTM epoch, naive padded to {p['max_len']} ({p['padding']['naive']:.0%} padding)", tps["naive"],
            "texts/s", goal_text="reference"),
        row("text: LSTM epoch, bucketed + packed", tps["packed"], "texts/s", 1.0, reference=tps["naive"], of="naive",
            goal_text="faster"),
        row(f"text: LSTM epoch, bucketed + last-word read-out ({p['padding']['ours']:.1%} padding)", tps["ours"],
            "texts/s", 1.0, reference=tps["naive"], of="naive", goal_text="faster"),
        row("text: bucketed read-out vs bucketed packed", tps["ours"], "texts/s", 1.0, reference=tps["packed"],
            of="packed", goal_text="faster"),
        row("text: LSTM epoch in the one loop vs the bucketed read-out loop bare", tps["loop"], "texts/s", 0.95,
            reference=tps["ours"], of="bare", goal_text="≥ 0.95× bare"),
    ]
    for g in t["goals"]:
        out.append(row(f"text: {g['name']} test accuracy ({g['setup']}; {g['n_train']:,}/{g['n_test']:,})",
                       100 * g["test_acc"], "%", 100 * g["goal"], goal_text=f"≥ {100 * g['goal']:.0f}%"))
        out.append(row(f"text: {g['name']} training time", g["train_s"], "s", g["budget_s"], at_least=False,
                       goal_text=f"≤ {g['budget_s']} s"))
    return out


__all__ = ["GOALS", "pipeline", "rows", "run", "time_to_accuracy"]
