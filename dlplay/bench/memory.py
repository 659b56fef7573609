"""Benchmark: the memory of each page's largest run a shared server accepts, measured against its estimate.

For every lesson that sizes its runs (`Lesson.cost`), `dlplay.bench.largest.largest_accepted` gives the
page's costliest setting a shared server with the default limits accepts. It trains for real in a fresh
Python process (`python -m dlplay.bench.memory --child PAGE SPEC`), as the app trains it: the lesson's
own `train(spec, job)` in a `dlplay.jobs.Scheduler` worker, on the data the page has loaded before Train.
What memory per step doesn't depend on is made short: one epoch (or a few steps per budget, one trial),
fewer texts where a lesson reads a corpus. Stop is pressed after `STOP_STEPS` optimizer steps — or, for a
lesson that trains several models one after another (`PHASES`: each has its own peak), it runs to its
end — and in any case `MAX_S` seconds after the first step; a stopped run still ends as it does in the app
(tested, measured, kept), measured for at most `RUN_S` seconds after Train.

Peak memory is the child's peak resident size above its size just before Train: the kernel's high-water
mark (VmHWM), reset at that moment (Linux ≥ 4.0) after a garbage collection and `malloc_trim`, so neither
importing torch nor reading the data counts; `getrusage`'s ru_maxrss growth is recorded beside it (it
can't be reset: a data load that peaked above the size before Train hides that much of training's growth).
The estimate is the lesson's own `cost(spec)` of the spec that ran. Before the baseline the child loads
what the page has loaded before Train (its dataset, the digit page's validation split): the server holds
those, not the run. A setting whose data isn't here is passed over for the page's next costliest one; a
page with none left is skipped, saying why.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from .lazyload import reset_peak  # the high-water mark back to the size now

ROOT = Path(__file__).resolve().parents[2]
STOP_STEPS = 3  # optimizer steps before Stop (a GAN's round is two)
MAX_S = {"one": 20.0, "phases": 60.0}  # seconds after the first step before Stop
RUN_S = 100.0  # a run still going this long after Train (testing after Stop) is measured until then
LONGER = {"tl": (150.0, 200.0)}  # (MAX_S, RUN_S): dlplay's own body is pretrained first (~90 s here)
CHILD_TIMEOUT_S = 240
PHASES = {"ae", "dn", "tl", "forget"}  # several models (or tasks) trained one after another: run to the end


def short(page: str, spec):
    """The spec as it runs here: what a step's memory depends on kept, the rest made short."""
    if page in ("mlp", "cnn", "imgreg", "overfit", "ae", "dn"):
        spec = replace(spec, train=replace(spec.train, epochs=1))
    if page in ("morph", "vae", "gan", "pipe", "diag", "music"):
        spec = replace(spec, epochs=1)
    if page == "cnn":
        spec = replace(spec, n_train=min(spec.n_train or 10_000, 10_000))  # Stop comes long before; its test stays
    if page == "forget":
        spec = replace(spec, epochs_a=1, epochs_b=1, n_train=min(spec.n_train or 6000, 6000))
    if page == "tl":
        spec = replace(spec, steps=10)
    if page == "sent":
        spec = replace(spec, n_train=min(spec.n_train or 4000, 4000), n_test=min(spec.n_test or 1000, 1000),
                       train=replace(spec.train, epochs=1))
    if page == "seqae":
        spec = replace(spec, n_train=min(spec.n_train or 4000, 4000), n_test=min(spec.n_test, 500),
                       train=replace(spec.train, epochs=1))
    if page == "search":  # one trial of the biggest network the space allows, the pool kept whole
        spec = replace(spec, method="random", n_trials=1, epochs=1,
                       **{name: (getattr(spec, name)[1],) * 2 for name in ("width", "depth", "dropout", "batch_size")})
    return spec


def missing(page: str, spec) -> str | None:
    """Why this spec's data isn't on this machine; None if it is (or is bundled)."""
    if page == "music":
        from dlplay.music import rolls

        if spec.dataset != "bach" and rolls.on_disk(spec.dataset) is None:
            return f"{rolls.DATASETS[spec.dataset][0]} is not in the data directory"
    if page == "imgreg" and spec.source == "utkface":
        from dlplay.vision import regression

        if not regression.utkface_folder().is_dir():
            return f"UTKFace is not in the data directory ({regression.utkface_folder()})"
    if page == "tl":
        from dlplay.vision import caltech, pretrained

        if spec.task == "caltech101" and caltech.find_folder() is None:
            return "Caltech 101 is not in the data directory"
        if spec.body in pretrained.IMAGENET and pretrained.cached_weights(spec.body) is None:
            return f"no ImageNet weights for {spec.body} on this machine (offline)"
    return None


def choose(page: str, limits=None) -> tuple[object | None, list[tuple[str, str]]]:
    """The page's costliest accepted setting whose data is here, and the others passed over, each with why."""
    from dlplay.bench import largest

    passed = []
    for found in largest.accepted(page, limits):
        if (why := missing(page, found.spec)) is None:
            return found, passed
        passed.append((found.describe(), why))
    return None, passed


# --- in the child -----------------------------------------------------------------------------

def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def trim() -> None:
    from dlplay.sessions import trim_heap

    gc.collect()
    trim_heap()


def before_train(page: str, spec) -> None:
    """What the page loads and keeps before Train is pressed (the server's memory, not the run's)."""
    from dlplay.runs.lesson import lesson_for

    from dlplay import data

    lesson = lesson_for(page)
    if lesson.work is not None:
        lesson.work(spec)  # the data it counts
    if page == "mlp":
        from dlplay.classify import prepare

        prepare(spec)  # the validation split, made before Train is pressed
    if page in ("diag", "forget"):
        data.load("mnist")
    if page == "forget" and "fashion" in spec.pair:
        data.load("fashion_mnist")
    if page == "search":
        data.load(spec.dataset)
    if page == "tl" and spec.task != "caltech101":
        from dlplay.vision.transfer import TASKS

        data.load(TASKS[spec.task].dataset)
    if page == "sent":
        from dlplay.text import corpus

        corpus.load(spec.corpus)
    if page == "music":
        from dlplay.music import rolls

        rolls.load(spec.dataset)


def child(page: str, spec_json: str) -> dict:
    """One run, measured in this fresh process."""
    import torch
    from torch.optim.optimizer import register_optimizer_step_post_hook

    from dlplay import limits
    from dlplay.jobs import Scheduler
    from dlplay.runs import specs
    from dlplay.runs.lesson import lesson_for

    lesson = lesson_for(page)
    spec = specs.from_dict(lesson.spec_type, json.loads(spec_json))
    before_train(page, spec)
    cost = lesson.cost(spec)
    steps, first, stop, marks = [0], [None], [None], {}

    def counted(optimizer, args, kwargs):
        steps[0] += 1
        if first[0] is None:
            first[0] = time.perf_counter()
            marks["first_step_peak_mb"] = peak() - before

    def forward(module, args):
        if "held_before_training_mb" not in marks and torch.is_grad_enabled() and module.training:
            marks["held_before_training_mb"] = rss_mb() - before  # what the run made before its first step

    def peak() -> float:
        return hwm_mb() if reset else maxrss_mb()

    register_optimizer_step_post_hook(counted)
    hook = torch.nn.modules.module.register_module_forward_pre_hook(forward)
    scheduler = Scheduler(max_workers=1)
    trim()
    before, maxrss_before, reset = rss_mb(), maxrss_mb(), reset_peak()
    started = time.perf_counter()
    job = scheduler.submit(lambda job: lesson.train(spec, job), session_id="bench-memory", name=lesson.title)
    policy = "phases" if page in PHASES else "one"
    max_s, run_s = LONGER.get(page, (MAX_S[policy], RUN_S))
    while not job.wait(0.05) and (now := time.perf_counter()) - started < run_s:
        enough = policy == "one" and steps[0] >= STOP_STEPS * (2 if page == "gan" else 1)
        late = (first[0] is not None and now - first[0] > max_s) or now - started > run_s - 20
        if stop[0] is None and (enough or late):
            stop[0] = {"at_s": now - started, "steps": steps[0], "peak_mb": peak() - before}
            job.cancel()
    hook.remove()
    unfinished = f"still {job.status} {run_s:.0f} s after Train (measured until then)" if job.is_active else None
    return {"page": page, "state": job.state, "error": job.error or unfinished, "steps": steps[0],
            "seconds": time.perf_counter() - started,
            "estimate_mb": cost.peak_mb, "estimate": cost.describe(), "before_mb": before,
            "measured_mb": peak() - before, "maxrss_growth_mb": maxrss_mb() - maxrss_before, "hwm_reset": reset,
            "stopped": stop[0], **marks, "cap_mb": limits.max_run_mb(), "threads": torch.get_num_threads()}


# --- in the parent ----------------------------------------------------------------------------

def measure(page: str, spec, env: dict | None = None) -> dict:
    """Train `spec` on `page` in a fresh process; the child's figures."""
    from dlplay.runs import specs

    cmd = [sys.executable, "-m", "dlplay.bench.memory", "--child", page, json.dumps(specs.to_dict(spec))]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S,
                              env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return {"page": page, "error": f"no answer in {CHILD_TIMEOUT_S} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"page": page, "error": f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}"}
    return json.loads(lines[-1])


def run(quick: bool = False, pages: list[str] | None = None, limits=None) -> dict:
    """Every sized lesson's largest accepted run (or `pages`'), measured; `quick`: the same (it is short)."""
    from dlplay.bench import largest

    out = []
    with tempfile.TemporaryDirectory(prefix="dlplay-bench-memory-") as cache:
        env = {"DLPLAY_CACHE_DIR": cache}  # helpers it makes once (a pretrained body) made anew, as on a new server
        for page in pages or list(largest.LARGEST):
            try:
                found, passed = choose(page, limits)
            except Exception as exc:  # noqa: BLE001 - one lesson that can't be sized leaves the others
                print(f"  {page}: FAILED sizing it: {type(exc).__name__}: {exc}")
                out.append({"page": page, "error": f"sizing: {type(exc).__name__}: {exc}"})
                continue
            for what, why in passed:
                print(f"  {page}: passed over {what}: {why}")
            if found is None:
                print(f"  {page}: skipped — no accepted setting with its data here")
                out.append({"page": page, "skipped": "; ".join(dict.fromkeys(why for _, why in passed))
                            or "nothing a shared server accepts"})
                continue
            spec = short(page, found.spec)
            t0 = time.perf_counter()
            r = measure(page, spec, env)
            r.update(setting=found.describe(), accepted_estimate_mb=found.cost.peak_mb, wall_s=time.perf_counter() - t0)
            out.append(r)
            if "error" in r and "measured_mb" not in r:
                print(f"  {page}: FAILED {r['error']}")
            else:
                print(f"  {page}: {found.describe()}\n    estimate {r['estimate_mb']:,.0f} MB, measured "
                      f"{r['measured_mb']:,.0f} MB: {phases(r)} ({r['steps']} steps, {r['state']}, "
                      f"{r['wall_s']:.0f} s)" + (f"; error: {r['error']}" if r.get("error") else ""), flush=True)
    return {"pages": out}


def phases(r: dict) -> str:
    """Where the peak came: "held before training 180 MB, first step 240 MB, at Stop 245 MB"."""
    parts = [("held before the first step", r.get("held_before_training_mb")),
             ("peak after the first step", r.get("first_step_peak_mb")),
             ("at Stop", (r.get("stopped") or {}).get("peak_mb"))]
    return ", ".join(f"{name} {mb:,.0f} MB" for name, mb in parts if mb is not None)


def rows(x: dict, row) -> list[dict]:
    """One row per page: the measured peak growth, against the memory cap (met?) and the estimate (ratio)."""
    out = []
    for r in x["pages"]:
        if "measured_mb" not in r:
            out.append({"measurement": f"memory: {r['page']}", "value": "n/a", "ratio": "", "met": "",
                        "goal": f"skipped: {r['skipped']}" if "skipped" in r else f"FAILED: {r['error']}"})
            continue
        ratio = r["measured_mb"] / r["estimate_mb"]
        out.append({"measurement": f"memory: {r['page']}, estimate {r['estimate_mb']:,.0f} MB",
                    "value": f"{r['measured_mb']:,.0f} MB", "goal": f"≤ cap {r['cap_mb']:,.0f} MB",
                    "ratio": f"{ratio:.2f}× estimate" + (" (estimate LOW)" if ratio > 1 else ""),
                    "met": "yes" if r["measured_mb"] <= r["cap_mb"] else "NO"})
    return out


def table(x: dict) -> list[str]:
    """The section's own table, in Markdown: page, setting, estimate, measured and where it came."""
    lines = ["| page | largest accepted setting (lowered from the page's largest) | estimate | measured peak growth "
             "| held before the first step | peak at Stop | measured ÷ estimate | under the cap? |",
             "|---|---|---|---|---|---|---|---|"]
    for r in x["pages"]:
        if "measured_mb" not in r:
            why = f"skipped: {r['skipped']}" if "skipped" in r else f"failed: {r['error']}"
            lines.append(f"| {r['page']} | {why} | | | | | | |")
            continue
        stop = (r.get("stopped") or {}).get("peak_mb")
        held = r.get("held_before_training_mb")
        ratio = r["measured_mb"] / r["estimate_mb"]
        lines.append(f"| {r['page']} | {r['setting']} | {r['estimate_mb']:,.0f} MB | {r['measured_mb']:,.0f} MB | "
                     + (f"{held:,.0f} MB" if held is not None else "") + " | "
                     + (f"{stop:,.0f} MB" if stop is not None else "ran to its end") + " | "
                     + (f"**{ratio:.2f}×**" if ratio > 1 else f"{ratio:.2f}×") + " | "
                     + ("yes" if r["measured_mb"] <= r["cap_mb"] else "**no**") + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("PAGE", "SPEC"))
    parser.add_argument("--page", action="append", help="only this page (repeatable)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)), flush=True)
        os._exit(0)  # a run still testing after RUN_S is left in its thread
    from dlplay.places import use_neighbouring_data

    use_neighbouring_data()
    print(json.dumps(run(pages=args.page), indent=1))


if __name__ == "__main__":
    main()
