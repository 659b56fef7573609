"""`python -m dlplay.exercises`: the exercises for teachers and CI.

    list                one exercise id per line
    stub ID             the starter the learner begins from
    solution ID         the reference
    check ID FILE       check a learner's file in the sandbox: a JSON object (passed, checks, error) on
                        stdout; exit status 0 when every check passes, 1 when some fail, 2 when the code
                        was refused or stopped (a syntax error, a limit hit, no sandbox)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from .catalog import BY_ID, EXERCISES

    parser = argparse.ArgumentParser(prog="python -m dlplay.exercises", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="one exercise id per line")
    for name in ("stub", "solution"):
        sub.add_parser(name, help=f"print an exercise's {name}").add_argument("id", choices=sorted(BY_ID))
    check = sub.add_parser("check", help="check a learner's file in the sandbox (JSON on stdout)")
    check.add_argument("id", choices=sorted(BY_ID))
    check.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "list":
        print("\n".join(e.id for e in EXERCISES))
        return 0
    exercise = BY_ID[args.id]
    if args.command in ("stub", "solution"):
        print(exercise.stub if args.command == "stub" else exercise.reference_source, end="")
        return 0
    from .checks import check as run_checks

    verdict = run_checks(exercise, args.file.read_text(encoding="utf-8", errors="replace"))
    print(json.dumps(verdict.as_json(), indent=1, ensure_ascii=False))
    return 0 if verdict.passed else (2 if verdict.error else 1)


if __name__ == "__main__":
    sys.exit(main())
