"""`adtrack costs import|list` as a subprocess, straight on the store and through a server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import DIRECT, adtrack, adtrack_here, assert_bad_input
from tests.support.cli import offline_env as offline_env  # a fixture
from tests.support.cli import offline_store_env as offline_store_env  # a fixture

GOOD = "day,channel,spend,currency\n2024-05-01,forum,12.50,CNY\n2024-05-02,campus,7,CNY\n"


def test_import_and_list_without_a_server(offline_store_env, tmp_path):
    env = offline_store_env  # a migrated, empty store
    path = tmp_path / "costs.csv"
    path.write_text(GOOD, "utf-8-sig")
    dry = adtrack(env, "costs", "import", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would import 2 cost rows, spend 19.50" in dry.stdout and DIRECT in dry.stderr
    done = adtrack(env, "costs", "import", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == 2
    listed = adtrack(env, "costs", "list", "--start", "2024-05-01", "--end", "2024-05-31",
                     "--json")  # fmt: skip
    rows = json.loads(listed.stdout)
    assert [(r["day"], r["channel"], r["spend"]) for r in rows] == [
        ("2024-05-01", "forum", "12.50"), ("2024-05-02", "campus", "7.00")]  # fmt: skip
    path.write_text("day,channel,spend\n2024-05-01,nope,1\n", "utf-8")
    assert_bad_input(adtrack(env, "costs", "import", str(path)), "line 2: channel")


def test_a_range_ending_before_it_starts_is_refused_before_the_store(offline_env):
    bad = adtrack_here(offline_env, "costs", "list", "--start", "2024-05-02", "--end", "2024-05-01")
    assert_bad_input(bad, "--end")
    assert not Path(offline_env["ADTRACK_DATA_DIR"]).exists()  # the store was not opened


def test_import_through_a_server(server, tmp_path):
    path = tmp_path / "costs.csv"
    path.write_text(GOOD, "utf-8")
    done = adtrack(server.env, "costs", "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "imported 2 cost rows" in done.stdout and DIRECT not in done.stderr
    with server.admin() as http:
        rows = http.get("/api/v1/costs", params={"start": "2024-05-01", "end": "2024-05-02"})
    assert [r["imported_by"] for r in rows.json()["rows"]] == [
        "admin-token",
        "admin-token",
    ]  # the admin token's name
    path.write_text("day,spend\n2024-05-01,-1\n", "utf-8")
    assert_bad_input(adtrack(server.env, "costs", "import", str(path)), "line 2: spend")
