"""`python -m dlplay.bench [--quick]`: measure what the goals promise and print a table.

Sections: training throughput against a tutorial loop and a bare loop (training.py),
a job inside the live server seen from a browser (server.py), the 2-D
playground's redraw rate (playground.py), and what recording a run in the run store
costs its training (store.py), the CNN builder (cnn.py), and an image folder read lazily
against held in memory (lazyload.py), and the sentiment models on full IMDB with the
batching pipeline they use (text.py), and each page's largest run a shared server accepts, its
peak memory measured against its estimate (memory.py). Nothing is asserted; a noisy machine gives
noisy numbers, so run it on a quiet one.
"""
from __future__ import annotations

import argparse
import os
import time

from dlplay.places import use_neighbouring_data

SECTIONS = ("training", "server", "playground", "store", "cnn", "lazyload", "text", "music", "memory", "exercises")
UNIT_DIGITS = {"nats": 3, "samples/s": 0, "texts/s": 0, "s": 2, "% CPU": 1, "ms": 2, "%": 2, "×": 3}


def row(measurement: str, value: float | None, unit: str, goal: float | None = None, *,
        at_least: bool = True, reference: float | None = None, of: str = "goal", goal_text: str = "") -> dict:
    """One line of the table. With a reference the ratio is value / reference and the goal
    is on that ratio (0.95× bare); without, the ratio is value / goal (0.7× the 1 s budget)."""
    out = {"measurement": measurement, "goal": goal_text, "ratio": "", "met": "",
           "value": "n/a" if value is None else f"{value:,.{UNIT_DIGITS.get(unit, 1)}f} {unit}"}
    if value is None or goal is None or (reference is None and of != "goal"):
        return out
    ratio = value / reference if reference is not None else value / goal
    met = ratio >= goal if reference is not None else value >= goal if at_least else value < goal
    out.update(ratio=f"{ratio:.2f}× {of}", met="yes" if met else "NO")
    return out


def training_rows(t: dict) -> list[dict]:
    sps = t["samples_per_s"]
    return [
        row("training: bare in-memory loop", sps["bare"], "samples/s", goal_text="reference"),
        row("training: tutorial loop (DataLoader)", sps["tutorial"], "samples/s", goal_text="reference"),
        row("training: dlplay fit vs bare", sps["dlplay"], "samples/s", 0.95, reference=sps["bare"],
            of="bare", goal_text="≥ 0.95× bare"),
        row("training: dlplay fit vs tutorial", sps["dlplay"], "samples/s", 3.0, reference=sps["tutorial"],
            of="tutorial", goal_text="≥ 3× tutorial"),
    ]


def server_rows(s: dict, bare: float | None) -> list[dict]:
    return [
        row("server: job with the page open vs bare", s["samples_per_s"], "samples/s", 0.9 if bare else None,
            reference=bare, of="bare", goal_text="≥ 0.9× bare"),
        row("server: Train click → first loss point", s["click_to_first_point_s"], "s", 1.0, at_least=False,
            goal_text="< 1 s"),
        row("server: idle CPU, page open", s["idle_cpu_percent"], "% CPU", 5.0, at_least=False, goal_text="< 5%"),
    ]


def playground_rows(p: dict) -> list[dict]:
    goal = p.get("goal_redraws_per_s")
    rows = [row("playground: heatmap redraws/s (worst setup)", p.get("worst_redraws_per_s"), "/s", goal,
                goal_text=f"≥ {goal:g}/s" if goal else "")]
    if "two_people_at_once_redraws_per_s" in p:
        rows.append(row("playground: redraws/s, two people at once", p["two_people_at_once_redraws_per_s"], "/s",
                        goal_text="(each)"))
    return rows


def store_rows(s: dict) -> list[dict]:
    sps = s["samples_per_s"]
    return [
        row("store: one metric-row write", s["row_ms"], "ms", goal_text="reference"),
        row("store: one checkpoint (MLP 784-256-128-10)", s["checkpoint_ms"], "ms", goal_text="reference"),
        row("store: 20 training steps (one metric row apart)", s["between_rows_ms"], "ms", goal_text="reference"),
        row("store: metric-row write vs 20 steps", 100 * s["row_vs_between_rows"], "%", 2.0, at_least=False,
            goal_text="< 2%"),
        row("store: checkpoint vs 20 steps", 100 * s["checkpoint_vs_between_rows"], "%",
            goal_text="(once, at the end)"),
        row("store: fit in an unrecorded job", sps["unrecorded"], "samples/s", goal_text="reference"),
        row("store: fit in a recorded run", sps["recorded"], "samples/s", goal_text="reference"),
        row("store: recorded ÷ unrecorded, paired per round", s["recorded_vs_unrecorded"], "×", 0.98,
            goal_text="≥ 0.98 (< 2% slower)"),
    ]


def print_table(rows: list[dict]) -> None:
    cols = ("measurement", "value", "goal", "ratio", "met")
    heads = {"measurement": "measurement", "value": "value", "goal": "goal", "ratio": "ratio", "met": "met?"}
    widths = {c: max(len(r[c]) for r in [heads, *rows]) for c in cols}
    line = "  ".join(heads[c].ljust(widths[c]) for c in cols)
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(r[c].ljust(widths[c]) for c in cols))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dlplay.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and repeats (about a third of the time)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    args = parser.parse_args(argv)
    sections = args.only or SECTIONS
    use_neighbouring_data()
    started, rows, bare = time.perf_counter(), [], None

    if "training" in sections:
        from dlplay.bench import training

        print("training throughput (dlplay fit, tutorial DataLoader loop, bare loop)…")
        t = training.run(quick=args.quick)
        bare = t["samples_per_s"]["bare"]
        print(f"  {t['samples']:,} samples per run, median of {t['repeats']}, device {t['device']}, "
              f"{t['threads']} torch threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
        rows += training_rows(t)
    if "server" in sections:
        from dlplay.bench import server

        print("a training job in the live Streamlit server, seen from headless Chromium…")
        rows += server_rows(server.run(quick=args.quick), bare)
    if "playground" in sections:
        try:
            from dlplay.bench import playground
        except ImportError as exc:
            print(f"playground benchmark not available ({exc})")
        else:
            print("2-D playground redraws…")
            p = playground.run()
            for name, setup in p.get("setups", {}).items():
                print(f"  {name}: {setup}")
            rows += playground_rows(p)
    if "store" in sections:
        from dlplay.bench import store

        print("recording a run: store write costs, fit unrecorded vs. in a recorded run…")
        s = store.run(quick=args.quick)
        print(f"  {s['samples']:,} samples ({s['steps']} steps) per fit, median of {s['repeats']}, "
              f"{s['source']}, device {s['device']}, {s['threads']} torch threads per job")
        rows += store_rows(s)
    if "cnn" in sections:
        from dlplay.bench import cnn

        print("CNN fast preset: dlplay fit vs tutorial vs bare; CPU settings; time to accuracy…")
        c = cnn.run(quick=args.quick)
        print(f"  {c['samples']:,} samples per run, median of {c['repeats']}, device {c['device']}, "
              f"{c['threads']} torch threads")
        rows += cnn.rows(c, row)
    if "lazyload" in sections:
        from dlplay.bench import lazyload

        print("an image folder read lazily vs held in memory, each way in a fresh process…")
        z = lazyload.run(quick=args.quick)
        print(f"  {z['note']}")
        rows += lazyload.rows(z, row)

    if "text" in sections:
        from dlplay.bench import text

        print("sentiment on full IMDB: time to accuracy; bucketed vs packed vs naive padded batches…")
        x = text.run(quick=args.quick)
        if "pipeline" in x:
            p = x["pipeline"]
            print(f"  pipeline: {p['n']:,} reviews, mean {p['mean_len']:.0f} words, cut at {p['max_len']}; "
                  f"seconds per epoch {p['seconds']}; {x['threads']} torch threads")
            for g in x["goals"]:
                print(f"  {g['name']}: {g['test_acc']:.2%} after {g['epochs']} epochs in {g['train_s']:.0f} s, "
                      f"{g['params']:,} parameters")
        rows += text.rows(x, row)

    if "music" in sections:
        from dlplay.bench import music

        print("music: the 88-key LSTM on Nottingham, five minutes of training…")
        m = music.run(quick=args.quick)
        print(f"  {m['epochs']} epochs in {m['train_s']:.0f} s: validation {m['val']:.3f}, test {m['test']:.3f} nats "
              f"per frame (baseline {m['baseline']:.2f})")
        rows += music.rows(m, row)

    if "memory" in sections:
        from dlplay.bench import memory

        print("memory: each page's largest accepted run, each in a fresh process, peak RSS growth vs its estimate…")
        y = memory.run(quick=args.quick)
        print("\n".join(memory.table(y)))
        rows += memory.rows(y, row)

    if "exercises" in sections:
        from dlplay.bench import exercises

        print("exercises: from Check to the verdict, in the sandbox…")
        rows += exercises.rows(exercises.run(quick=args.quick), row)

    print()
    print_table(rows)
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
