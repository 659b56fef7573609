"""Where jobs run when one machine is not enough.

`dlplay.jobs.Scheduler` runs jobs in threads of the web server (the default). With
`DLPLAY_RAY_ADDRESS` set, the app (`from_environment()`, called where it starts) has
`dlplay.jobs.get_scheduler()` return `ray.RayScheduler` instead: the same job functions run as tasks on a Ray cluster, and their metric rows,
artifacts, progress and result stream back into an ordinary local `Job`, so pages and
the run recorder work unchanged.

- `shipping`: a job function as bytes for another process, with the run store's
  writes sent back to the server that owns the store.
- `ray`: the Ray-backed scheduler, the task that runs a job on a worker, and the
  actor that carries events and Stop between them.
"""
from __future__ import annotations

import os
import sys
import traceback

from .. import jobs


def from_environment() -> None:
    """Where the app starts: with `DLPLAY_RAY_ADDRESS`, jobs run on that Ray cluster."""
    if address := os.environ.get("DLPLAY_RAY_ADDRESS"):
        jobs.use_scheduler(lambda workers: cluster_scheduler(address, workers))


def cluster_scheduler(address: str, fallback_workers: int | None = None):
    """A `RayScheduler` on the cluster at `address`; if Ray is missing or the cluster
    cannot be reached, the in-process scheduler, with the reason in the server log
    (pages keep working, on this machine's cores)."""
    try:
        from .ray import RayScheduler

        return RayScheduler(address)
    except Exception:  # noqa: BLE001 - a page must never see this; the log says why
        traceback.print_exc()
        print(f"dlplay: cannot use the Ray cluster at DLPLAY_RAY_ADDRESS={address!r}; "
              "running jobs in this process instead", file=sys.stderr, flush=True)
        return jobs.Scheduler(fallback_workers)
