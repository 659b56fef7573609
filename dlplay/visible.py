"""What a visitor may see: no server path reaches the browser on a shared server.

On a personal machine a full path helps the learner ("put the four files into
/home/me/.cache/dlplay/data/MNIST/raw"). On a server a class shares (`DLPLAY_SHARED=1`)
the same text tells every visitor how the server is laid out — its user names, its
mounts, where the run store lives — and none of it is theirs to act on. There,

- `text(s)` replaces every absolute path in `s` with a neutral word: the part inside a
  folder the learner knows by name is kept ("[data directory]/MNIST/raw",
  "[cache directory]/models/imagenet/resnet18.pth"), anything else keeps only its last
  name ("[server path]/fashion-mnist");
- `where(path)` (and `in_data_dir(rel)`) says where files go: the full path on a personal
  machine, "`MNIST/raw` in the server's data directory" on a shared one.

Every exception text, data source and note a page shows passes through `text`; the full
text goes to the server log only.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from .places import cache_dir, data_dir, shared, store_home

ASK = "ask your teacher"

# An absolute path: a "/" that starts a word (not "train/test", not "https://", not "1/2")
# followed by path characters. A trailing full stop or comma belongs to the sentence.
_PATH = re.compile(r"(?<![\w.:/\\~\]\)>-])/[\w.+@%=~-][\w.+@%=~/-]*")
# Single-name absolute paths worth hiding; others ("/s" in "images /s") are ordinary text.
_TOP = {"bin", "boot", "data", "dev", "etc", "home", "lib", "media", "mnt", "opt", "proc", "root", "run", "srv",
        "sys", "tmp", "usr", "var", "work", "workspace"}


def _roots() -> list[tuple[str, str, bool]]:
    """(folder, word, keep what follows) for the folders a path may sit in, deepest first.
    Read each time: the environment names them and may change (tests do)."""
    named = [(data_dir(), "[data directory]", True), (cache_dir(), "[cache directory]", True),
             (store_home(), "[run store]", True), (Path(__file__).resolve().parents[1], "[app folder]", True),
             (Path(sys.prefix), "[python]", False), (Path(sys.base_prefix), "[python]", False),
             (Path(tempfile.gettempdir()), "[server path]", False), (Path.home(), "[server path]", False)]
    out = {}
    for folder, word, keep in named:
        for form in {str(folder), os.path.realpath(folder)}:
            form = form.rstrip("/")
            if form and form not in out:
                out[form] = (word, keep)
    return sorted(((f, w, k) for f, (w, k) in out.items()), key=lambda r: -len(r[0]))


def scrub(s: str) -> str:
    """`s` with every absolute path replaced by a neutral word, whatever the server."""
    if "/" not in s:
        return s
    roots = _roots()

    def neutral(match: re.Match) -> str:
        path = match.group(0)
        tail = path[len(path.rstrip(".,")):]  # the sentence's punctuation, given back
        path = path[:len(path) - len(tail)]
        for folder, word, keep in roots:
            if path == folder or path.startswith(folder + "/"):
                rest = path[len(folder):]
                return word + (rest if keep else _last(rest, 1)) + tail
        parts = [p for p in path.split("/") if p]
        if len(parts) == 1 and parts[0] not in _TOP:
            return match.group(0)
        return "[server path]" + _last(path, 3) + tail  # "/home/alice": not even the name

    return _PATH.sub(neutral, s)


def _last(rest: str, least: int) -> str:
    """"/name" of the path's last part, when it has `least` parts at least ("" otherwise)."""
    parts = [p for p in rest.split("/") if p]
    return f"/{parts[-1]}" if len(parts) >= least else ""


def text(s) -> str:
    """What a visitor may read of `s` (an exception, a note, a message): as it is on a
    personal machine, paths replaced on a shared server."""
    s = str(s)
    return scrub(s) if shared() else s


def where(path) -> str:
    """Where `path` is, for a message saying what to put where: the path itself on a
    personal machine; on a shared server its place inside a folder the teacher knows
    ("`MNIST/raw` in the server's data directory"), else the path's neutral word."""
    if not shared():
        return str(path)
    path = str(path)
    for folder, word, keep in _roots():
        if keep and (path == folder or path.startswith(folder + "/")):
            place = f"the server's {word.strip('[]')}"
            return f"`{path[len(folder) + 1:]}` in {place}" if path != folder else place
    return scrub(path)


def in_data_dir(rel: str) -> str:
    """`where` for `rel` inside the data directory: "/home/me/.cache/dlplay/data/MNIST/raw",
    or on a shared server "`MNIST/raw` in the server's data directory"."""
    return where(data_dir() / rel)


def ask() -> str:
    """" — ask your teacher" on a shared server, where a missing file is the teacher's to add."""
    return f" — {ASK}" if shared() else ""


def relative(path) -> str:
    """`path` relative to the data directory when it is inside it ("MNIST/raw"), else as
    `scrub` shows it."""
    for root in {str(data_dir()), os.path.realpath(data_dir())}:
        try:
            return str(Path(path).relative_to(root))
        except ValueError:
            continue
    return scrub(str(path))
