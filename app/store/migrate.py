"""Apply the numbered `.sql` files in `sql/` once each, in order, recording them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.store.client import Store

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def statements(self) -> list[str]:
        """Statements end with `;` at the end of a line; `--` comment lines are dropped."""
        text = "\n".join(
            line
            for line in self.path.read_text("utf-8").splitlines()
            if not line.lstrip().startswith("--")
        )
        return [s.strip() for s in re.split(r";\s*$", text, flags=re.M) if s.strip()]


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    found = []
    for path in sorted(sql_dir.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file name must look like 0001_name.sql: {path.name}")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migrations share a version number")
    return found


def applied_versions(store: Store) -> set[int]:
    exists = store.query(
        "SELECT count() FROM system.tables WHERE database = currentDatabase() "
        "AND name = 'schema_migrations'"
    )
    if not exists[0][0]:
        return set()
    return {row[0] for row in store.query("SELECT version FROM schema_migrations FINAL")}


def migrate(store: Store, sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Apply pending migrations; returns those applied now. Safe to run again."""
    done = applied_versions(store)
    applied = []
    for migration in discover(sql_dir):
        if migration.version in done:
            continue
        for statement in migration.statements():
            store.command(statement)
        store.insert_rows(
            "schema_migrations", [(migration.version, migration.name)], ["version", "name"]
        )
        applied.append(migration)
    return applied
