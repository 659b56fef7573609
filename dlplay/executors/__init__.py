"""Where jobs run when one machine is not enough.

`dlplay.jobs.Scheduler` runs jobs in threads of the web server (the default). With
`DLPLAY_RAY_ADDRESS` set, `dlplay.jobs.get_scheduler()` returns `ray.RayScheduler`
instead: the same job functions run as tasks on a Ray cluster, and their metric rows,
artifacts, progress and result stream back into an ordinary local `Job`, so pages and
the run recorder work unchanged.

- `shipping`: a job function as bytes for another process, with the run store's
  writes sent back to the server that owns the store.
- `ray`: the Ray-backed scheduler, the task that runs a job on a worker, and the
  actor that carries events and Stop between them.
"""
from __future__ import annotations

import sys
import traceback


def cluster_scheduler(address: str, fallback_workers: int | None = None):
    """A `RayScheduler` on the cluster at `address`; if Ray is missing or the cluster
    cannot be reached, the in-process scheduler, with the reason in the server log
    (pages keep working, on this machine's cores)."""
    from ..jobs import Scheduler

    try:
        from .ray import RayScheduler

        return RayScheduler(address)
    except Exception:  # noqa: BLE001 - a page must never see this; the log says why
        traceback.print_exc()
        print(f"dlplay: cannot use the Ray cluster at DLPLAY_RAY_ADDRESS={address!r}; "
              "running jobs in this process instead", file=sys.stderr, flush=True)
        return Scheduler(fallback_workers)
