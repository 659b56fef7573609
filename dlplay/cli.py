"""`python -m dlplay`: the course from a terminal, for a teacher's reference runs, a scripted class and CI.

    python -m dlplay lessons                                   # each lesson's key and title, one a line
    python -m dlplay run mlp --set train.epochs=3 --seeds 3    # trains into the run store; prints the run ids
    python -m dlplay report 12 13 14 --out lab.ipynb           # a lab report (.ipynb or .html)

Runs are trained as the page trains them (its defaults, the settings given), through the one start path,
into the run store the app reads (`DLPLAY_HOME`), in the personal workspace unless `--workspace` says.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    from .workspaces import LOCAL_WORKSPACE

    p = argparse.ArgumentParser(prog="python -m dlplay", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    sub.add_parser("lessons", help="each lesson's key and title, one a line").set_defaults(command=lessons)
    run = sub.add_parser("run", help="train a lesson's run into the run store and print its id")
    run.add_argument("key", help="the lesson's key (see `lessons`)")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="a setting (nested ones dotted: train.epochs=3; lists as JSON: hidden=[64,32]; "
                          "@FILE reads a file's text)")
    run.add_argument("--seeds", type=int, default=1, help="train it once per seed (from the setting's own)")
    run.add_argument("--workspace", default=LOCAL_WORKSPACE, help="whose runs they become (default: this machine's)")
    run.set_defaults(command=train)
    report = sub.add_parser("report", help="a lab report of runs, as a notebook or an HTML page")
    report.add_argument("runs", nargs="+", type=int, metavar="RUN_ID")
    report.add_argument("--out", required=True, type=Path, help="FILE.ipynb or FILE.html")
    report.add_argument("--workspace", default=LOCAL_WORKSPACE)
    report.set_defaults(command=write_report)
    return p


def lessons(args) -> int:
    from . import course

    for key in course.lessons():
        print(f"{key}\t{course.page(key).title}")
    return 0


def train(args) -> int:
    from . import course, work
    from .runs import get_store, repeats, specs
    from .runs.lesson import lesson_for

    if args.key not in course.lessons():
        print(f"no lesson {args.key!r}; the lessons are {', '.join(course.lessons())}", file=sys.stderr)
        return 2
    lesson = lesson_for(args.key)
    try:
        spec = specs.with_values(lesson.spec_type(), dict(_setting(s) for s in args.set))
    except (KeyError, ValueError) as exc:
        print(exc.args[0] if exc.args else exc, file=sys.stderr)
        return 2
    n = max(1, min(args.seeds, repeats.MAX_LOCAL))
    group = repeats.new_group()
    settings = (lambda i, todo: repeats.tag({}, group, i, n, repeats.seed_of(todo[i]))) if n > 1 else {}
    try:
        seq = work.start_runs(work.Visitor(args.workspace, "command-line"), lesson,
                              repeats.seeded(spec, n) if n > 1 else [spec], settings=settings)
    except work.Refused as exc:
        print(exc.reason, file=sys.stderr)
        return 2
    seq.wait(timeout=24 * 3600)
    store = get_store()
    failed = False
    for run_id in seq.run_ids:
        run = store.get(run_id)
        print(run_id)
        print(f"run {run_id}: {run.state} · {run.headline or run.status}", file=sys.stderr)
        failed |= run.state not in ("done", "stopped")
    return 1 if failed or seq.error else 0


def write_report(args) -> int:
    from .report import build

    try:
        out = build(args.runs, args.workspace, args.out)
    except (LookupError, ValueError) as exc:
        print(exc.args[0] if exc.args else exc, file=sys.stderr)
        return 2
    print(out)
    return 0


def _setting(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--set {text!r}: write NAME=VALUE")
    if value.startswith("@"):
        return name.strip(), Path(value[1:]).read_text()
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError:
        return name.strip(), value  # plain text: a dataset's name
