"""Each report says what it counts (issue 14, item 6): the `counts` sentence of its declaration
is in every answer and printed by `adtrack stats` under the table."""

from __future__ import annotations

import json

from app.attribution.reports import REPORTS
from tests.support.cli import DIRECT, adtrack
from tests.support.cli import offline_store_env as offline_store_env  # a fixture

RANGE = ("--start", "2024-05-06", "--end", "2024-05-08")


def test_every_report_declares_what_it_counts():
    missing = [r.name for r in REPORTS if len(r.counts) < 20]
    assert not missing, f"reports without a counts sentence: {missing}"


def test_the_answer_and_the_table_carry_it(offline_store_env):
    by_name = {r.name: r for r in REPORTS}
    for name in ("ranking", "funnel"):
        table = adtrack(offline_store_env, "stats", name, *RANGE)
        assert table.returncode == 0, table.stderr
        assert DIRECT in table.stderr
        assert table.stdout.rstrip().splitlines()[-1] == f"counts: {by_name[name].counts}"
        answer = adtrack(offline_store_env, "stats", name, *RANGE, "--json")
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout)["counts"] == by_name[name].counts
