"""`python -m dlplay.loadtest [--sessions 20] [--after 180] [--url http://127.0.0.1:PORT]`"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from dlplay.places import use_neighbouring_data

from .run import Options, run


def parse(argv=None) -> tuple[Options, argparse.Namespace]:
    d = Options()
    ap = argparse.ArgumentParser(prog="python -m dlplay.loadtest", description=__doc__)
    ap.add_argument("--sessions", type=int, default=d.sessions, help="browser sessions training at once")
    ap.add_argument("--page", default=d.page, help="the page's URL path (default: the digit classifier)")
    ap.add_argument("--query", default=d.query, help="the page's settings as a URL query")
    ap.add_argument("--button", default=d.button)
    ap.add_argument("--chart", default=d.chart, help="title (regex) of the chart whose first point is timed")
    ap.add_argument("--url", help="a running server on 127.0.0.1 (else one is started)")
    ap.add_argument("--timeout", type=float, default=d.train_timeout_s, help="seconds every session may take")
    ap.add_argument("--after", type=float, default=d.after_s, help="seconds to watch the server after closing")
    ap.add_argument("--cpu-window", type=float, default=d.cpu_window_s, help="CPU averaged over the last S s")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    a = ap.parse_args(argv)
    if not 1 <= a.sessions <= 200:
        ap.error("--sessions must be between 1 and 200")
    return Options(sessions=a.sessions, page=a.page, query=a.query, button=a.button, chart=a.chart, url=a.url,
                   train_timeout_s=a.timeout, after_s=a.after, cpu_window_s=min(a.cpu_window, a.after)), a


def fmt(x, unit="s", digits=1) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f} {unit}"


def print_report(f: dict) -> None:
    r = f["rss_mb"]
    print(f"sessions finished         {f['finished']} of {f['sessions']}")
    for line in f["failed"][:10]:
        print(f"  failed: {line}")
    print(f"time to first point       p50 {fmt(f['first_point_p50_s'])} · p95 {fmt(f['first_point_p95_s'])}")
    print(f"time to finish            p50 {fmt(f['finish_p50_s'])} · p95 {fmt(f['finish_p95_s'])}")
    if f["queue_places_max"]:
        print(f"queue places seen         up to {f['queue_places_max']} ({f['sessions_queued']} sessions "
              f"waited; {'every place counted down' if f['places_counted_down'] else 'NOT always counting down'})")
    else:
        print("queue places seen         none (no session waited)")
    print(f"server RSS                start {fmt(r['start'], 'MB', 0)} · before Train {fmt(r['before'], 'MB', 0)}"
          f" · peak {fmt(r['peak'], 'MB', 0)} · tabs just closed {fmt(r['closed'], 'MB', 0)}"
          f" · {f['after_s']:.0f} s after {fmt(r['after'], 'MB', 0)}")
    print(f"server CPU after close    {fmt(f['cpu_after_percent'], '%')} of one core (the wait's last part)")


def main(argv=None) -> int:
    opts, args = parse(argv)
    use_neighbouring_data()
    print(f"dlplay load test · {opts.sessions} sessions · {os.cpu_count()} cores")
    figures = run(opts)
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["finished"] == figures["sessions"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
