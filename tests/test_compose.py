"""The classroom deployment (compose.yaml; no Docker daemon here, so the file is read and its parts
checked against each other — the same topology runs for real in tests/test_classroom.py): the app,
PostgreSQL for the run store, a Ray head and a worker, all of dlplay from one image and one volume."""
from __future__ import annotations

import re

import yaml
from sqlalchemy.engine import make_url

from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def test_a_classroom_is_the_app_a_database_and_a_ray_head_and_worker():
    assert set(SERVICES) == {"app", "db", "ray-head", "ray-worker"}
    dlplay = [SERVICES[s] for s in ("app", "ray-head", "ray-worker")]
    assert all(s["build"] == "." and s["image"] == "dlplay" for s in dlplay)  # one image: the same code everywhere
    assert all("data:/data" in s["volumes"] for s in dlplay)  # weights and datasets seen alike by every node
    assert set(COMPOSE["volumes"]) == {"data", "db"}


def test_the_app_keeps_its_runs_in_the_database_service():
    env, db = SERVICES["app"]["environment"], SERVICES["db"]["environment"]
    url = make_url(env["DLPLAY_DB_URL"])
    assert url.drivername == "postgresql+psycopg" and url.host == "db"
    assert (url.username, url.password, url.database) == (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"],
                                                          db["POSTGRES_DB"])
    assert env["DLPLAY_SHARED"] == "1"
    assert SERVICES["app"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_the_app_and_the_worker_join_the_heads_cluster():
    head = " ".join(SERVICES["ray-head"]["command"])
    port = re.search(r"--port=(\d+)", head).group(1)
    assert "--head" in head and "--num-cpus=0" in head  # the head schedules, trains nothing
    assert f"--address=ray-head:{port}" in " ".join(SERVICES["ray-worker"]["command"])
    app = " ".join(SERVICES["app"]["command"])
    assert f"ray start --address=ray-head:{port} --num-cpus=0" in app and "exec dlplay " in app
    assert SERVICES["app"]["environment"]["DLPLAY_RAY_ADDRESS"] == "auto"
    assert "8501:8501" in SERVICES["app"]["ports"]
