"""`python -m dlplay.loadtest`: a class training at once, on this machine only.

N headless Chromium contexts (separate browser sessions, default 20) open one page
of a local dlplay server and press Train at the same moment; the test prints how many
sessions finished, p50/p95 time from the click to the first point and to the end,
the queue places the pages showed, and the server's memory before, at its peak and
a while (default 3 minutes) after every tab has closed, with its CPU use then.

Bounded everywhere: a fixed number of sessions, a deadline for every wait, and it
stops by itself; it talks only to 127.0.0.1 (its own server (`python -m dlplay_app.serve`) on a free
port, or `--url http://127.0.0.1:PORT`).
"""
from .run import Options, run

__all__ = ["Options", "run"]
