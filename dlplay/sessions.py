"""Which browser sessions are still there: the work of a closed tab ends within seconds.

Every dlplay session (a `SessionHandle` in Streamlit's session state) is watched with
the Streamlit session it belongs to. One thread per process asks Streamlit's runtime
every `CHECK_S` seconds whether that session is still connected. A session that has
been disconnected for `GRACE_S` seconds — a closed or reloaded tab; a page switch keeps
the session and a network blip reconnects well within it — has its jobs stopped (a run
ends STOPPED and keeps its model) and released, then Python's garbage is collected and
the C heap trimmed, so the server's memory really comes back.

Streamlit itself frees a disconnected session only when a full garbage collection
finds it after its reconnect window (two minutes, checked when another session
disconnects), which `postScriptGC` being off makes rare: hence this watchdog.
"""
from __future__ import annotations

import ctypes
import gc
import os
import platform
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .jobs import Job, get_scheduler

CHECK_S = float(os.environ.get("DLPLAY_SESSION_CHECK_S", "2"))
GRACE_S = float(os.environ.get("DLPLAY_SESSION_GRACE_S", "12"))
UNWIND_S = 15.0  # how long a release waits for stopped jobs to save their models before collecting


def streamlit_session_id() -> str | None:
    """The Streamlit session the calling script run belongs to (None outside one)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def streamlit_connected(streamlit_id: str) -> bool | None:
    """Whether Streamlit's runtime has this session connected; None when there is no
    runtime to ask (plain Python, or AppTest, whose runtime is a mock)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    answer = Runtime.instance().is_active_session(streamlit_id)  # thread-safe, says Streamlit
    return answer if isinstance(answer, bool) else None


def trim_heap() -> None:
    """Hand freed C heap back to the system: glibc keeps it (per thread arena) otherwise,
    and the RSS never falls after a training thread's tensors are freed."""
    if platform.libc_ver()[0] != "glibc":
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def release_sessions(session_ids: list[str], unwind_s: float = UNWIND_S) -> list[Job]:
    """Stop and forget the sessions' jobs, wait (bounded) for the stopped ones to save
    what they learned, then collect garbage once for the whole batch and trim the heap."""
    scheduler = get_scheduler()
    stopped = [job for sid in session_ids for job in scheduler.release_session(sid)]
    deadline = time.monotonic() + unwind_s
    for job in stopped:
        job.wait(max(0.0, deadline - time.monotonic()))
    gc.collect()
    trim_heap()
    return stopped


@dataclass
class _Watched:
    streamlit_id: str
    seen: float  # when it was last known to be connected


class SessionWatch:
    """The registry of watched sessions and the thread that ends the gone ones. The
    thread runs only while there is a session to watch."""

    def __init__(self, connected: Callable[[str], bool | None] = streamlit_connected,
                 release: Callable[[list[str]], object] = release_sessions,
                 grace_s: float = GRACE_S, check_s: float = CHECK_S):
        self.connected, self.release = connected, release
        self.grace_s, self.check_s = grace_s, check_s
        self._sessions: dict[str, _Watched] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.released: list[str] = []  # sessions released so far (newest last, bounded)

    def watch(self, session_id: str, streamlit_id: str | None) -> None:
        """Called from the session's own script run. Only sessions of a real, running
        Streamlit server are watched (not AppTest's, nor plain Python)."""
        if not streamlit_id or self.connected(streamlit_id) is not True:
            return
        with self._lock:
            self._sessions[session_id] = _Watched(streamlit_id, time.monotonic())
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="dlplay-session-watch", daemon=True)
                self._thread.start()

    def watching(self) -> list[str]:
        with self._lock:
            return list(self._sessions)

    def is_gone(self, session_id: str) -> bool:
        """A watched session whose browser is not connected right now (a reload's old tab)."""
        with self._lock:
            entry = self._sessions.get(session_id)
        return entry is not None and self.connected(entry.streamlit_id) is False

    def check(self, now: float | None = None) -> list[str]:
        """One pass: release the sessions disconnected for longer than the grace period."""
        now = time.monotonic() if now is None else now
        with self._lock:
            entries = list(self._sessions.items())
        gone = []
        for session_id, entry in entries:
            state = self.connected(entry.streamlit_id)
            if state is None or state:  # connected, or no runtime to ask: nothing to do
                entry.seen = now if state else entry.seen
            elif now - entry.seen >= self.grace_s:
                gone.append(session_id)
        if gone:
            with self._lock:
                for session_id in gone:
                    self._sessions.pop(session_id, None)
            self.release(gone)
            self.released = (self.released + gone)[-1000:]
        return gone

    def _loop(self) -> None:
        while True:
            time.sleep(self.check_s)
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watchdog must outlive one bad pass
                import traceback

                traceback.print_exc()
            with self._lock:
                if not self._sessions:
                    self._thread = None  # the next watched session starts a new one
                    return


WATCH = SessionWatch()


def orphaned_jobs() -> list[Job]:
    """Active jobs whose session's browser is gone but still within its grace period."""
    return [job for job in get_scheduler().active_jobs() if WATCH.is_gone(job.session_id)]
