"""The Docker image a teacher deploys (issue 27, part 6; no Docker daemon here, so its file is read): every
place dlplay writes — datasets, the run store, the caches — is under the /data volume, so a recreated
container keeps every student's runs; it runs as a user, not root, and has a health check."""
from __future__ import annotations

import re

from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _env() -> dict[str, str]:
    pairs = re.findall(r"^ENV (.+)$", DOCKERFILE, re.M)
    return dict(kv.split("=", 1) for line in pairs for kv in line.split())


def test_everything_dlplay_writes_is_on_the_volume():
    volume = re.search(r'^VOLUME \["(.+?)"\]', DOCKERFILE, re.M).group(1)
    env = _env()
    # dlplay.places: data_dir, store_home and cache_dir, each from one of these
    for name in ("DLPLAY_DATA_DIR", "DLPLAY_HOME", "DLPLAY_CACHE_DIR"):
        assert env[name] == volume or env[name].startswith(volume + "/"), name


def test_it_runs_as_a_user_with_a_health_check():
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/_dlplay/health", DOCKERFILE, re.M)  # the store and cluster too
