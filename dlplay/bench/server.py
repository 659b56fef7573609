"""Benchmark: a training job inside the live Streamlit server, seen from a browser.

Starts the app (`python -m dlplay_app.serve`, i.e. `streamlit run app.py`), opens the digit-classifier page in headless Chromium,
clicks Train and measures what a learner experiences:

- training samples/s of the job while the page redraws its live charts (the page's
  caption shows the last epoch's rate, read from the page text);
- time from the Train click to the first point of the loss curve, timed inside the
  browser (a click listener and a 5 ms poll of the plotly chart's data);
- the server's CPU use while it idles with the page open after the run, from
  /proc/<pid>/stat (user + system time over wall time; 100% = one core busy).
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# The machine has no internet: without the networking flags Chromium keeps trying to reach Google.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE_SAMPLE_S = 10.0

# Points in the "Loss" chart's batch trace, 0 before the chart has data.
LOSS_POINTS_JS = """() => {
  const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(e => e.layout && e.layout.title && /Loss/.test(e.layout.title.text));
  const trace = el && el._fullData && el._fullData[0];
  return trace && trace.x ? trace.x.length : 0;
}"""

# Times (performance.now) of the Train click and of the first loss point after it.
CLICK_TO_POINT_JS = """() => {
  window.__benchClick = null; window.__benchFirst = null;
  const points = %s;
  document.addEventListener('click', e => {
    const b = e.target.closest('button');
    if (b && b.innerText.trim() === 'Train' && window.__benchClick === null) window.__benchClick = performance.now();
  }, true);
  const poll = setInterval(() => {
    if (window.__benchClick !== null && points() >= 1) { window.__benchFirst = performance.now(); clearInterval(poll); }
  }, 5);
}""" % LOSS_POINTS_JS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlplay_app.serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=open(log_path, "w"), stderr=subprocess.STDOUT, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"Streamlit server did not start; see {log_path}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu_percent(pid: int, seconds: float = IDLE_SAMPLE_S) -> float:
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)


def wait_until_idle(page, timeout_ms: int = 60_000) -> None:
    """Until the script rerun in progress (if any) has finished: Streamlit shows its
    status widget ("Running…") while a script runs."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=timeout_ms)


def train_in_browser(page, url: str, epochs: int, timeout_ms: int = 600_000) -> dict:
    from playwright.sync_api import expect

    page.goto(f"{url}/digit_classifier")
    train = page.get_by_role("button", name="Train")
    expect(train).to_be_enabled(timeout=120_000)
    box = page.get_by_label("Epochs")
    box.fill(str(epochs))
    box.press("Enter")
    expect(box).to_have_value(str(epochs))
    wait_until_idle(page)  # a click during the rerun Enter started would wait for it
    page.evaluate(CLICK_TO_POINT_JS)
    train.click()
    metric = page.locator('[data-testid="stMetric"]', has_text="Test accuracy")
    expect(metric).to_be_visible(timeout=timeout_ms)
    caption = page.get_by_text(re.compile(r"[\d,]+ samples/s"))
    expect(caption).to_be_visible()
    rate = re.search(r"([\d,]+) samples/s", caption.inner_text()).group(1)
    click, first = page.evaluate("() => [window.__benchClick, window.__benchFirst]")
    wait_until_idle(page)
    return {"samples_per_s": float(rate.replace(",", "")),
            "click_to_first_point_s": (first - click) / 1000 if click and first else None,
            "test_accuracy": metric.locator('[data-testid="stMetricValue"]').inner_text()}


def run(quick: bool = False, log=print) -> dict:
    """Server-side measurements; the page stays open while the idle CPU is sampled."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="dlplay-bench-") as tmp:
        log_path = Path(tmp) / "server.log"
        proc, url = start_server(log_path)
        try:
            with sync_playwright() as p:
                exe = CHROMIUM if Path(CHROMIUM).exists() else None  # else Playwright's own browser
                browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                out = train_in_browser(page, url, epochs=1 if quick else 2)
                first = out["click_to_first_point_s"]
                log(f"  server   job: {out['samples_per_s']:,.0f} samples/s, first loss point "
                    f"{'?' if first is None else f'{first:.2f}'} s after the click, "
                    f"test accuracy {out['test_accuracy']}")
                out["idle_cpu_percent"] = idle_cpu_percent(proc.pid, IDLE_SAMPLE_S / 2 if quick else IDLE_SAMPLE_S)
                log(f"  server   idle with the page open: {out['idle_cpu_percent']:.1f}% CPU")
                browser.close()
        except Exception:
            log(f"server log (end):\n{log_path.read_text()[-3000:]}")
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return out
