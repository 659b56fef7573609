"""Downloads, with pooch: every file checked against its hash before it counts (one that arrives damaged
is deleted and named), its progress reported, written whole or not at all. `dlplay.registry` and
`dlplay.rebuilt` fetch through here, and so does every page that downloads (`dlplay.data.download`)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

Progress = Callable[[float, str], None]


class FetchFailed(OSError):
    """A dataset could not be fetched (an I/O failure, as a failed download always was here); the
    message names the files and why."""


def download(url: str, target: Path, known_hash: str | None, progress: Progress | None = None) -> Path:
    """One file from `url` to `target`, checked against `known_hash` ("md5:…", "sha256:…"; None
    only where the publisher gives none and the caller checks the file itself), with progress."""
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")  # progress is reported, not logged per file
    bar = _Bar(progress, target.name) if progress else False
    try:
        return Path(pooch.retrieve(url, known_hash, fname=target.name, path=target.parent,
                                   downloader=pooch.HTTPDownloader(progressbar=bar, timeout=30)))
    except ValueError as exc:  # pooch: the hash of what arrived is not the known one (the file is deleted)
        raise FetchFailed(f"{target.name} from {url} arrived damaged — its hash is not the registry's "
                          f"({(known_hash or '')[:16]}…), so it was refused; fetch it again or mend the mirror's copy"
                          ) from exc
    except (requests.RequestException, OSError) as exc:
        raise FetchFailed(reason(url, exc)) from exc


def reason(url: str, exc: Exception) -> str:
    """What went wrong, in a line: the same reason for many files reads as one."""
    import requests
    from urllib.parse import urlsplit

    host = urlsplit(url).netloc
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"{host} answered {exc.response.status_code} for {urlsplit(url).path}"
    if isinstance(exc, requests.Timeout):
        return f"{host} did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return f"{host} could not be reached"
    return f"{url}: {type(exc).__name__}: {exc}"


class _Bar:
    """pooch's progress bar protocol (total, update, reset, close), reported as (share, message)."""

    def __init__(self, progress: Progress, name: str):
        self.progress, self.name, self.total, self.done = progress, name, 0, 0

    def update(self, n: int) -> None:
        self.done += n
        if self.total:
            self.progress(min(1.0, self.done / self.total),
                          f"downloading {self.name}: {self.done / 1e6:.1f} of {self.total / 1e6:.1f} MB")

    def reset(self) -> None:
        self.done = 0

    def close(self) -> None:
        pass


__all__ = ["FetchFailed", "Progress", "download", "reason"]
