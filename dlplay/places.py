"""Where the app keeps things, and how it is served — read from the environment each time
(tests and the server change it): the data directory, the cache, the run store's home, and
whether a class shares this server. Everything else builds on these; they build on nothing.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


ASSETS = Path(__file__).resolve().parent / "assets"  # files shipped with the package: mazes, examples


def shared() -> bool:
    """A server a class shares (`DLPLAY_SHARED=1`): fair use, private workspaces, no server paths."""
    return os.environ.get("DLPLAY_SHARED", "").lower() in ("1", "true", "yes")


def data_dir() -> Path:
    """Where datasets are read from (and downloaded to): `DLPLAY_DATA_DIR`, default ~/.cache/dlplay/data."""
    return Path(os.environ.get("DLPLAY_DATA_DIR") or Path.home() / ".cache" / "dlplay" / "data")


def cache_dir() -> Path:
    """Where the app keeps what it makes once and reuses (trained helper models, pretrained
    bodies, image folders written for a lesson): `DLPLAY_CACHE_DIR`, default ~/.cache/dlplay."""
    return Path(os.environ.get("DLPLAY_CACHE_DIR") or Path.home() / ".cache" / "dlplay")


def store_home() -> Path:
    """The run store's folder (database, weights): `DLPLAY_HOME`, default ~/.local/share/dlplay."""
    return Path(os.environ.get("DLPLAY_HOME") or Path.home() / ".local" / "share" / "dlplay")


def use_neighbouring_data() -> None:
    """For the benchmarks and the load test run from a checkout: read the datasets in
    `../shared/data` beside it when no data directory is set, and never download."""
    neighbour = Path(__file__).resolve().parents[2] / "shared" / "data"
    if "DLPLAY_DATA_DIR" not in os.environ and neighbour.is_dir():
        os.environ["DLPLAY_DATA_DIR"] = str(neighbour)
    os.environ.setdefault("DLPLAY_OFFLINE", "1")


@contextlib.contextmanager
def making(path: Path):
    """Hold while checking for, or making, a file in the cache: another thread or process
    making the same file waits here, then finds it made (a judge, a pretrained body)."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_name(f".{path.name}.lock"))):
        yield
