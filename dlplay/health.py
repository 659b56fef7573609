"""What a health check reads: the server answers, its run store can be read and written, and the
Ray cluster, when one is configured, has live workers. Served as JSON at `/_dlplay/health` by the
launcher (`dlplay_app.serve`) and read by the Docker image's HEALTHCHECK; it names no server path or key.

    {"status": "ok", "store": "ok · 212 runs", "cluster": "not configured"}

HTTP 503 when the store can't keep runs (Train would refuse); "degraded" (200) when the cluster
configured is unreachable and jobs run in the server process instead.
"""
from __future__ import annotations

import os


def report() -> tuple[int, dict]:
    """(HTTP status, the report)."""
    store_ok, store = _store()
    cluster_ok, cluster = _cluster()
    status = "ok" if store_ok and cluster_ok else ("degraded" if store_ok else "failing")
    return (200 if store_ok else 503), {"status": status, "store": store, "cluster": cluster}


def _store() -> tuple[bool, str]:
    import sqlalchemy as sa

    from . import runs
    from .runs.store import runs_table, store_problem

    try:
        store = runs.get_store()
        with store.engine.connect() as con:
            count = con.execute(sa.select(sa.func.count()).select_from(runs_table)).scalar()
        problem = store.writable()
    except Exception as exc:  # noqa: BLE001 - what a health check is for
        return False, f"can't be opened ({store_problem(exc)})"
    if problem:
        return False, problem
    return True, f"ok · {count:,} runs"


def _cluster() -> tuple[bool, str]:
    if not os.environ.get("DLPLAY_RAY_ADDRESS"):
        return True, "not configured"
    from . import executors, jobs

    executors.from_environment()  # the app's choice, if no page has run yet
    scheduler = jobs.get_scheduler()
    if type(scheduler).__name__ != "RayScheduler":
        return False, "unreachable: jobs run in the server process instead (the server log says why)"
    try:
        import ray

        nodes = [n for n in ray.nodes() if n.get("Alive")]
        cpus = ray.cluster_resources().get("CPU", 0)
    except Exception as exc:  # noqa: BLE001
        return False, f"unreachable ({type(exc).__name__})"
    return bool(nodes), f"ok · {len(nodes)} node{'s' if len(nodes) != 1 else ''}, {cpus:g} CPUs"


def route():
    """The Starlette route the launcher adds to Streamlit's server."""
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def health(_request):  # a plain function: Starlette runs it in a worker thread
        code, body = report()
        return JSONResponse(body, status_code=code)

    return Route("/_dlplay/health", health, methods=["GET"])


__all__ = ["report", "route"]
