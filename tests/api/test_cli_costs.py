"""`adtrack costs import|list` as a subprocess, straight on the store and through a server."""

from __future__ import annotations

import json

from tests.api.test_cli_catalog import DIRECT, adtrack, assert_bad_input
from tests.api.test_cli_catalog import offline_env as offline_env  # a fixture

GOOD = "day,channel,spend,currency\n2024-05-01,forum,12.50,CNY\n2024-05-02,campus,7,CNY\n"


def test_import_and_list_without_a_server(offline_env, tmp_path):
    path = tmp_path / "costs.csv"
    path.write_text(GOOD, "utf-8-sig")
    dry = adtrack(offline_env, "costs", "import", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would import 2 cost rows, spend 19.50" in dry.stdout and DIRECT in dry.stderr
    done = adtrack(offline_env, "costs", "import", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["count"] == 2
    listed = adtrack(offline_env, "costs", "list", "--start", "2024-05-01", "--end",
                     "2024-05-31", "--json")  # fmt: skip
    rows = json.loads(listed.stdout)
    assert [(r["day"], r["channel"], r["spend"]) for r in rows] == [
        ("2024-05-01", "forum", "12.50"), ("2024-05-02", "campus", "7.00")]  # fmt: skip
    path.write_text("day,channel,spend\n2024-05-01,nope,1\n", "utf-8")
    assert_bad_input(adtrack(offline_env, "costs", "import", str(path)), "line 2: channel")
    bad = adtrack(offline_env, "costs", "list", "--start", "2024-05-02", "--end", "2024-05-01")
    assert_bad_input(bad, "--end")


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
