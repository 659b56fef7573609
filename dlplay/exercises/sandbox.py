"""Learner code runs here, never in the server: a separate process under Debian's bubblewrap with no
network, a read-only system, no view of the run store, the data directory or anyone's workspace, a
private temporary folder of its own — and limits on CPU time, memory, processes, file and output size,
and wall-clock time. The code (`runner.py`) calls the learner's function on inputs the server chose and
sends back what it returned; the expected answers never enter the sandbox.

Processes are capped by a pids cgroup when the server runs as root (root ignores RLIMIT_NPROC), else by
RLIMIT_NPROC above the user's own count. `available()` says why the sandbox cannot start on this machine.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .runner import decode, encode

RUNNER = Path(__file__).with_name("runner.py")  # its encode/decode carry values both ways
# How the CPU limit ends it: the signal itself, or bubblewrap passing it on as 128 + signal.
KILLED = {-signal.SIGXCPU, -signal.SIGKILL, 128 + signal.SIGXCPU, 128 + signal.SIGKILL}
PIDS_CGROUP = Path("/sys/fs/cgroup/pids")


@dataclass(frozen=True)
class Limits:
    cpu_s: int = 10
    memory_mb: int = 1024
    processes: int = 32
    file_mb: int = 16  # what it may write into its temporary folder, per file
    tmp_mb: int = 64
    output_kb: int = 1024  # what it may send back
    wall_s: float = 20.0


MAX_CODE = 20_000  # characters of learner code run (a page of code is about 2,000)


@dataclass
class Outcome:
    """What the learner's code gave back: per call a value or an error; `error` when the code as a whole
    failed (a syntax error); `stopped` when the sandbox stopped it (a limit hit), in words."""
    results: list = field(default_factory=list)
    printed: str = ""
    error: str | None = None
    stopped: str | None = None
    seconds: float = 0.0


class Unavailable(RuntimeError):
    """The sandbox can't start here; the message says why and what to install."""


_available: dict[str, str | None] = {}


def available() -> str | None:
    """None when learner code can run isolated here, else why not (checked once per process)."""
    if "why" not in _available:
        _available["why"] = _check()
    return _available["why"]


def _check() -> str | None:
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap; scripts/setup.sh installs it)"
    try:
        out = subprocess.run([*_bwrap(Limits()), sys.executable, "-c", "print(6 * 7)"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start ({exc})"
    if out.stdout.strip() != "42":
        return f"bubblewrap could not start a sandbox here ({out.stderr.strip()[:200]})"
    return None


def _bwrap(limits: Limits) -> list[str]:
    """The sandbox: the system and Python read-only, a private /tmp, no network, no other namespace."""
    pythons = sorted({str(Path(p).resolve()) for p in (sys.base_prefix, sys.prefix)})
    binds = [a for p in pythons for a in ("--ro-bind", p, p)]
    return ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev",
            "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp", *binds,
            "--ro-bind", str(RUNNER), "/sandbox/runner.py", "--chdir", "/tmp", "--clearenv",
            "--setenv", "HOME", "/tmp", "--setenv", "PATH", "/usr/bin:/bin",
            *[a for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") for a in ("--setenv", v, "1")],
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]


def run(code: str, function: str, calls: list, limits: Limits = Limits(), *, unisolated: bool = False,
        trainer: str = "", args: dict | None = None, on_row=None, stop=None) -> Outcome:
    """Call `function` of the learner's `code` on each argument list of `calls`, in the sandbox. Where
    the sandbox can't start, Unavailable — unless `unisolated` (a personal machine whose learner
    agreed): then a separate process with the same limits, but the machine in view. With `trainer`
    (dlplay's source of `train(fn, **args)`, a generator of metric rows), the learner's function
    trains a model instead, each row handed to `on_row` as it comes; `stop()` true ends it (Stop pressed:
    checked ten times a second)."""
    if (why := available()) is not None and not unisolated:
        raise Unavailable(why)
    if len(code) > MAX_CODE:  # bounded before anything reads it
        return Outcome(error=f"Your code is {len(code):,} characters long: at most {MAX_CODE:,} are run.")
    request = json.dumps({"code": code, "function": function, "calls": [[encode(a) for a in c] for c in calls],
                          "trainer": trainer, "args": args or {}})
    group = _Cgroup(limits.processes)
    t0 = time.perf_counter()
    command = [sys.executable, "-I", str(RUNNER)] if why else [*_bwrap(limits), sys.executable, "-I",
                                                              "/sandbox/runner.py"]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=_limited(limits, group))
    out, why = _read_capped(proc, request.encode(), limits, on_row, stop)
    _kill(proc, group)  # whatever it left behind goes with it
    stopped = {"output": f"it printed more than {limits.output_kb:,} KB and was stopped",
               "wall": f"it ran longer than {limits.wall_s:g} s and was stopped",
               "stop": "Stop was pressed"}.get(why)
    if stopped is None and proc.returncode in KILLED:
        stopped = f"it used more than {limits.cpu_s} s of CPU time and was stopped"
    seconds = time.perf_counter() - t0
    reply = _last_json(out)
    if reply is None:
        return Outcome(stopped=stopped or "it stopped before answering (it may have ended the process)",
                       seconds=seconds)
    outcome = Outcome(reply.get("results", []), reply.get("printed", ""), reply.get("error"), stopped, seconds)
    if outcome.error and "MemoryError" in outcome.error or any("MemoryError" in r.get("error", "")
                                                               for r in outcome.results):
        outcome.stopped = f"it asked for more than {limits.memory_mb:,} MB of memory and was refused"
    return outcome


def _limited(limits: Limits, group: "_Cgroup"):
    """Set in the child before bubblewrap starts: its own session (killed as a group), the limits."""
    nproc = None if os.geteuid() == 0 else _tasks_of_user() + limits.processes

    def apply():
        os.setsid()
        group.enter()
        for what, value in ((resource.RLIMIT_CPU, limits.cpu_s), (resource.RLIMIT_AS, limits.memory_mb * 2**20),
                            (resource.RLIMIT_FSIZE, limits.file_mb * 2**20), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(what, (value, value))
        if nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply


def _read_capped(proc: subprocess.Popen, request: bytes, limits: Limits, on_row=None,
                 stop=None) -> tuple[bytes, str | None]:
    """Send the request; read the answer up to the output cap and the wall-clock limit (or until `stop()`),
    each streamed row ("ROW {…}") handed to `on_row` as it arrives. Returns what came and why it was cut
    off: "output", "wall", "stop" or None (the process is killed when cut off)."""
    cap, chunks, size, pending = limits.output_kb * 1024, [], 0, b""
    why: list[str] = []

    def feed():
        try:
            proc.stdin.write(request)
            proc.stdin.close()
        except OSError:
            pass  # it ended before reading everything

    done = threading.Event()

    def watch():  # the wall clock, and Stop
        end = time.monotonic() + limits.wall_s
        while not done.wait(0.1):
            if (late := time.monotonic() > end) or (stop is not None and stop()):
                why.append("wall" if late else "stop")
                _kill(proc, None)
                return

    threading.Thread(target=feed, daemon=True).start()
    threading.Thread(target=watch, daemon=True).start()
    try:
        while chunk := proc.stdout.read1(65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                why.append("output")
                _kill(proc, None)
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if on_row is not None and line.startswith(b"ROW "):
                    on_row(json.loads(line[4:]))
    finally:
        done.set()
    proc.wait()
    return b"".join(chunks), (why or [None])[0]


def _kill(proc: subprocess.Popen, group: "_Cgroup | None") -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if group is not None:
        group.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _last_json(out: bytes) -> dict | None:
    for line in reversed(out.decode("utf-8", "replace").splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def _tasks_of_user() -> int:
    """This user's processes and threads now (RLIMIT_NPROC counts them all)."""
    uid, count = os.getuid(), 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(list((entry / "task").iterdir()))
            except OSError:
                pass
    return count


class _Cgroup:
    """A pids cgroup of its own when the server runs as root (v1 or v2 hierarchy writable), so a fork
    bomb meets pids.max; nothing otherwise (RLIMIT_NPROC does it)."""

    def __init__(self, processes: int):
        self.path = None
        if os.geteuid() == 0 and os.access(PIDS_CGROUP, os.W_OK):
            # named for the server that made it: one left behind by a server no longer running is a leak
            path = PIDS_CGROUP / f"dlplay-sandbox-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(processes))
                self.path = path
            except OSError:
                self.path = None

    def enter(self) -> None:  # in the child, before exec
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def close(self) -> None:
        if self.path is None:
            return
        for _ in range(50):  # everything left in it is killed, then it goes
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                pids = []
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.path.rmdir()
                self.path = None
                return
            except OSError:
                time.sleep(0.02)


__all__ = ["Limits", "Outcome", "Unavailable", "available", "decode", "encode", "run"]
