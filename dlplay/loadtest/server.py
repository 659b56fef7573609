"""The server under test, seen from outside: its process, memory and CPU (Linux /proc)."""
from __future__ import annotations

import os
from pathlib import Path

from dlplay.bench.server import cpu_seconds

__all__ = ["cpu_seconds", "pid_on_port", "rss_mb"]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ProcessLookupError(pid)


def pid_on_port(port: int) -> int | None:
    """The process listening on a local TCP port (one of this user's), from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    links = {f"socket:[{i}]" for i in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                if os.readlink(fd.path) in links:
                    return int(pid)
        except OSError:
            continue
    return None
