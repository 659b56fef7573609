"""The hand-in: one zip of what a learner did for an assignment — the lab report (HTML and notebook) of their
runs on its pages, each run's spec and curves, their exercise code and results, the checklist — with a
manifest of each file's SHA-256 signed by the server (HMAC with a key only the server holds), so the teacher's
view can tell a bundle edited after export from the one handed in."""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import secrets
import time
import zipfile
from pathlib import Path

from .assignments import Assignment, Member
from .standing import Standing

MANIFEST = "manifest.json"
MAX_BUNDLE = 64 * 2**20  # what the teacher's view reads of an uploaded bundle
MAX_RUNS = 30


def _key() -> bytes:
    """The server's signing key: made once beside the run store, readable by the server only."""
    from ..runs import home

    path = Path(home()) / "handin.key"
    try:  # servers sharing the store's folder start together: the first one makes it, the rest read it
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(secrets.token_bytes(32))
    except FileExistsError:
        pass
    for _ in range(100):  # (another server may be writing it this instant)
        if len(key := path.read_bytes()) == 32:
            return key
        time.sleep(0.01)
    raise OSError("the hand-in signing key beside the run store is damaged: remove handin.key to make a new one")


def _sign(manifest: dict) -> str:
    body = json.dumps({k: v for k, v in manifest.items() if k != "signature"}, sort_keys=True).encode()
    return hmac.new(_key(), body, hashlib.sha256).hexdigest()


def bundle(a: Assignment, standing: Standing, runs: list) -> tuple[bytes, str]:
    """The zip and its SHA-256. `runs`: the learner's runs on the assignment's pages."""
    from .. import report
    from ..exercises import progress
    from ..runs import export

    files: dict[str, bytes] = {}
    chosen = [r for r in runs if r.state in ("done", "stopped")][:MAX_RUNS]
    if chosen:
        lab = report.collect([r.id for r in chosen], standing.member.workspace)
        files["report.html"] = report.html_page(lab).encode()
        files["report.ipynb"] = report.notebook_bytes(lab)
        for r in chosen:
            stem = export.file_stem(r)
            files[f"runs/{stem}.json"] = export.spec_json(r)
            files[f"runs/{stem}-metrics.csv"] = export.metrics_csv(r)
    done = progress.of(standing.member.workspace)
    files["exercises.json"] = json.dumps({e: {"passed": done[e].passed, "checks": done[e].attempts, "code": done[e].code}
                                          for e in a.exercises if e in done}, indent=2).encode()
    files["checklist.json"] = json.dumps(checklist(a, standing), indent=2).encode()
    manifest = {"assignment": a.code, "title": a.title, "name": standing.member.name,
                "handed_in": time.strftime("%Y-%m-%d %H:%M:%S"),
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}}
    manifest["signature"] = _sign(manifest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr(MANIFEST, json.dumps(manifest, indent=2))
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def checklist(a: Assignment, s: Standing) -> dict:
    return {"goals": [{"goal": g.goal.label, "met": g.run is not None, "run": g.run, "best": g.best}
                      for g in s.goals],
            "exercises": s.exercises, "done": s.done, "of": s.total}


def verify(data: bytes, members: list[Member] | None = None) -> tuple[bool, list[str], dict]:
    """Whether a bundle is as the server made it: every file's hash as signed, nothing added or removed,
    the signature the server's (and, given the assignment's members, the very bundle recorded at hand-in).
    Returns (ok, what is wrong, the manifest)."""
    if len(data) > MAX_BUNDLE:
        return False, [f"the file is over {MAX_BUNDLE // 2**20} MB: not a hand-in"], {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            manifest = json.loads(z.read(MANIFEST))
            got = {n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist() if n != MANIFEST
                   and z.getinfo(n).file_size <= MAX_BUNDLE}
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, ValueError):
        return False, ["not a dlplay hand-in (no readable manifest)"], {}
    problems = [f"{n} was changed after it was handed in" for n, h in manifest.get("files", {}).items()
                if got.get(n) not in (None, h)]
    problems += [f"{n} is missing" for n in manifest.get("files", {}) if n not in got]
    problems += [f"{n} was added" for n in got if n not in manifest.get("files", {})]
    if not hmac.compare_digest(manifest.get("signature", ""), _sign(manifest)):
        problems.append("the manifest's signature is not this server's (edited, or from another server)")
    if members is not None and not problems:
        sha = hashlib.sha256(data).hexdigest()
        if not any(m.bundle_sha == sha for m in members):
            problems.append("a valid bundle, but not the one last handed in for this assignment")
    return not problems, problems, manifest


__all__ = ["bundle", "checklist", "verify"]
