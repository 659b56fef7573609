"""The run store's schema is kept by Alembic migrations (dlplay/runs/migrations): a new store is
made by them, a store from before them is stamped at the baseline and keeps every run, and a later
version's migration brings last term's store up to date — runs, metrics and weights kept."""
from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.config import Config

from dlplay.runs import store as store_mod
from dlplay.runs.store import RunStore

EARLIER = Path(__file__).parent / "stores" / "2026-12-07"  # a real store written before migrations existed


def _head(location: Path = store_mod.MIGRATIONS) -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _version(s: RunStore) -> str:
    with s.engine.connect() as con:
        return con.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def test_a_new_store_is_made_by_the_migrations(tmp_path):
    s = RunStore(tmp_path)
    assert _version(s) == _head() == "0004"
    with s.engine.connect() as con:
        ddl = con.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name='runs'").scalar()
    assert "AUTOINCREMENT" in ddl.upper()
    run = s.create(workspace="w", page="mlp", title="t", spec={})
    assert s.get(run.id).page == "mlp"


def test_a_store_from_before_migrations_is_stamped_and_keeps_every_run(tmp_path):
    shutil.copytree(EARLIER, tmp_path / "home")
    with sa.create_engine(f"sqlite:///{tmp_path / 'home' / 'runs.db'}").connect() as con:
        assert "alembic_version" not in sa.inspect(con).get_table_names()
        before = con.exec_driver_sql("SELECT id, page, headline FROM runs ORDER BY id").all()
    s = RunStore(tmp_path / "home")
    assert _version(s) == _head()
    with s.engine.connect() as con:
        assert con.exec_driver_sql("SELECT id, page, headline FROM runs ORDER BY id").all() == before
    assert len(before) == 24 and _version(RunStore(tmp_path / "home")) == _head()  # opening again changes nothing


LATER = '''"""A later version's change: runs get a colour.

Revision ID: 9001
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("colour", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("colour")
'''


def test_a_later_versions_migration_brings_last_terms_store_up_to_date(tmp_path, monkeypatch):
    """A teacher upgrades dlplay: the new version's migration (here one that adds a column) runs on
    the store when the server opens it, and every run, metric row and model of last term is kept."""
    shutil.copytree(EARLIER, tmp_path / "home")
    old = RunStore(tmp_path / "home")
    runs = {r.id: (r.page, r.headline, r.has_model) for r in _all(old)}
    metrics = {i: old.metrics(i) for i in runs}
    models = {i: old.load_model(i) for i, (_, _, has) in runs.items() if has}
    old.engine.dispose()

    later = tmp_path / "migrations"
    shutil.copytree(store_mod.MIGRATIONS, later)
    (later / "versions" / "9001_colour.py").write_text(LATER)
    monkeypatch.setattr(store_mod, "MIGRATIONS", later)
    new = RunStore(tmp_path / "home")
    assert _version(new) == "9001" == _head(later)
    with new.engine.connect() as con:
        assert {"colour", "note", "tags"} <= {c["name"] for c in sa.inspect(con).get_columns("runs")}
    assert {r.id: (r.page, r.headline, r.has_model) for r in _all(new)} == runs
    assert all(new.metrics(i) == rows for i, rows in metrics.items())
    assert all(set(new.load_model(i)) == set(tensors) for i, tensors in models.items())
    assert new.create(workspace="w", page="mlp", title="t", spec={}).id > max(runs)  # and it keeps working


def _all(s: RunStore):
    with s.engine.connect() as con:
        workspaces = [w for (w,) in con.exec_driver_sql("SELECT DISTINCT workspace FROM runs")]
    return [r for w in workspaces for r in s.list(w)]
