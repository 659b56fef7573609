"""The load test itself: open N tabs, click Train in all at once, watch, close, wait."""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlparse

import numpy as np

from dlplay.bench.server import CHROMIUM, CHROMIUM_FLAGS, start_server

from .probe import INSTALL_JS, READ_JS
from .server import cpu_seconds, pid_on_port, rss_mb

LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass
class Options:
    sessions: int = 20
    page: str = "digit_classifier"  # the page's URL path
    # its settings (every setting lives in the URL, a select box's by its label)
    query: str = urlencode({"mlp-dataset": "MNIST 5k sample (bundled)", "mlp-epochs": 1})
    button: str = "Train"
    chart: str = "Loss"  # the chart whose first point is timed (a regular expression on its title)
    url: str | None = None  # a running server (127.0.0.1 only); else one is started
    train_timeout_s: float = 900.0  # every session must finish within this
    load_timeout_s: float = 180.0  # all tabs must show the page within this
    after_s: float = 180.0  # how long to watch the server after every tab has closed
    cpu_window_s: float = 60.0  # CPU use is averaged over the last part of that wait

    def target(self, base: str) -> str:
        return f"{base.rstrip('/')}/{self.page.lstrip('/')}" + (f"?{self.query}" if self.query else "")


@dataclass
class Report:
    sessions: int
    finished: int = 0
    failed: list[str] = field(default_factory=list)
    first_point_s: list[float] = field(default_factory=list)
    finish_s: list[float] = field(default_factory=list)
    places: list[list[int]] = field(default_factory=list)
    rss_mb: dict = field(default_factory=dict)  # start, before, peak, closed, after
    cpu_after_percent: float | None = None
    after_s: float = 0.0

    def figures(self) -> dict:
        def pct(xs, q):
            return float(np.percentile(xs, q)) if xs else None

        waited = [p for p in self.places if p]
        return {"sessions": self.sessions, "finished": self.finished, "failed": self.failed,
                "first_point_p50_s": pct(self.first_point_s, 50), "first_point_p95_s": pct(self.first_point_s, 95),
                "finish_p50_s": pct(self.finish_s, 50), "finish_p95_s": pct(self.finish_s, 95),
                "queue_places_max": max((max(p) for p in waited), default=None),
                "sessions_queued": len(waited),
                "places_counted_down": all(p == sorted(p, reverse=True) for p in waited),
                "rss_mb": self.rss_mb, "cpu_after_percent": self.cpu_after_percent, "after_s": self.after_s}


def check_local(url: str) -> None:
    host = urlparse(url).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"the load test only talks to this machine (127.0.0.1), not {host!r}")


def run(opts: Options, log=print) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="dlplay-loadtest-") as tmp:
        proc = None
        if opts.url:
            check_local(opts.url)
            url = opts.url
        else:
            os.environ["DLPLAY_HOME"] = str(Path(tmp) / "home")  # its runs are thrown away with it
            proc, url = start_server(Path(tmp) / "server.log")
            log(f"server: {url} (log {Path(tmp) / 'server.log'})")
        pid = proc.pid if proc else pid_on_port(urlparse(url).port or 80)
        try:
            with sync_playwright() as p:
                exe = CHROMIUM if Path(CHROMIUM).exists() else None  # else Playwright's own browser
                browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
                try:
                    return _drive(browser, opts, url, pid, log).figures()
                finally:
                    browser.close()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(30)


def _drive(browser, opts: Options, url: str, pid: int | None, log) -> Report:
    from playwright.sync_api import expect

    report = Report(opts.sessions, after_s=opts.after_s)
    rss = (lambda: rss_mb(pid)) if pid else (lambda: float("nan"))
    report.rss_mb["start"] = rss()
    target = opts.target(url)
    log(f"{opts.sessions} sessions open {target}")
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(opts.sessions)]
    pages = [c.new_page() for c in contexts]
    deadline = time.monotonic() + opts.load_timeout_s
    for page in pages:
        page.goto(target, timeout=opts.load_timeout_s * 1000)
    for page in pages:
        left_ms = max(1_000, (deadline - time.monotonic()) * 1000)
        expect(page.get_by_role("button", name=opts.button, exact=True)).to_be_enabled(timeout=left_ms)
    time.sleep(2)  # the last reruns settle
    report.rss_mb["before"] = rss()

    at = int(time.time() * 1000) + 2_000  # every tab clicks at this moment (one clock: the browser's)
    for page in pages:
        page.evaluate(INSTALL_JS, {"at": at, "button": opts.button, "chart": opts.chart})
    log(f"all {opts.sessions} press {opts.button} at once; waiting (at most {opts.train_timeout_s:.0f} s)")
    states, peak = [None] * len(pages), report.rss_mb["before"]
    deadline = time.monotonic() + opts.train_timeout_s
    while time.monotonic() < deadline:
        states = [page.evaluate(READ_JS) for page in pages]
        peak = max(peak, rss())
        done = sum(1 for s in states if s and (s["finish"] or (s["error"] and not s["click"])))
        if done == len(pages):
            break
        time.sleep(1)
    report.rss_mb["peak"] = peak
    _tally(report, states)
    log(f"{report.finished} of {opts.sessions} finished; closing every tab")

    for context in contexts:
        context.close()
    closed = time.monotonic()
    report.rss_mb["closed"] = rss()
    cpu_from = max(0.0, opts.after_s - opts.cpu_window_s)
    cpu0 = t0 = None
    while (waited := time.monotonic() - closed) < opts.after_s:
        if pid and cpu0 is None and waited >= cpu_from:
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(min(1.0, opts.after_s - waited))
    report.rss_mb["after"] = rss()
    if pid and cpu0 is not None:
        report.cpu_after_percent = 100 * (cpu_seconds(pid) - cpu0) / max(1e-6, time.monotonic() - t0)
    return report


def _tally(report: Report, states: list) -> None:
    for i, s in enumerate(states):
        if not s or not s["click"]:
            report.failed.append(f"tab {i}: {s and s['error'] or 'never clicked'}")
            continue
        report.places.append(s["places"])
        if s["error"]:
            report.failed.append(f"tab {i}: {s['error']}")
        elif s["finish"]:
            report.finished += 1
            report.finish_s.append((s["finish"] - s["click"]) / 1000)
        else:
            report.failed.append(f"tab {i}: not finished in time")
        if s["first"]:
            report.first_point_s.append((s["first"] - s["click"]) / 1000)
