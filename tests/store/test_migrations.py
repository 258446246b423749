"""Migrations: applied once, in order, idempotent; the resulting schema matches the snapshot."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.store.client import open_store
from app.store.migrate import SQL_DIR, applied_versions, discover, migrate

SNAPSHOT = Path(__file__).with_name("schema_snapshot.sql")


def _schema(store) -> str:
    tables = [
        r[0]
        for r in store.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name"
        )
    ]
    parts = []
    for table in tables:
        ddl = store.query(f"SHOW CREATE TABLE {table}")[0][0]
        # The database name differs between engines and set-ups; the shape must not.
        ddl = re.sub(r"CREATE TABLE \S+\.", "CREATE TABLE ", ddl)
        parts.append(ddl.strip() + ";")
    return "\n\n".join(parts) + "\n"


def test_migrations_apply_once_and_match_the_snapshot(tmp_path):
    store = open_store(f"chdb://{tmp_path / 'ch'}")
    applied = migrate(store)
    assert [m.version for m in applied] == [m.version for m in discover()]
    assert migrate(store) == []  # a second run changes nothing
    assert applied_versions(store) == {m.version for m in discover()}
    schema = _schema(store)
    if os.environ.get("ADTRACK_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(schema, "utf-8")
        store.close()
        # Compared with itself the snapshot would pass any schema: the diff is the check.
        pytest.fail(
            "rewritten tests/store/schema_snapshot.sql; review the diff and rerun without "
            "ADTRACK_UPDATE_SNAPSHOT"
        )
    assert schema == SNAPSHOT.read_text("utf-8"), (
        "schema changed: add a migration, then refresh tests/store/schema_snapshot.sql with "
        "ADTRACK_UPDATE_SNAPSHOT=1 pytest tests/store/test_migrations.py"
    )
    store.close()


def test_migration_files_are_numbered_and_self_contained():
    migrations = discover()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    for migration in migrations:
        text = migration.path.read_text("utf-8")
        # Creates and drops say IF [NOT] EXISTS; a setting change is idempotent as it is.
        settings_only = all(" MODIFY SETTING " in s for s in migration.statements())
        assert "IF NOT EXISTS" in text or "IF EXISTS" in text or settings_only, migration.path.name
        assert migration.statements(), migration.path.name


def test_bad_migration_names_are_refused(tmp_path):
    (tmp_path / "1_oops.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="0001_name.sql"):
        discover(tmp_path)
    assert SQL_DIR.is_dir()
