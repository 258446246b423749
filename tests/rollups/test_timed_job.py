"""The timed rollup job inside a running server: with ADTRACK_ROLLUP_INTERVAL_S set, the
funnel's daily rollup catches up with new events on its own, no refresh asked for."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.support.server import ServerProcess

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def _impressions(server: ServerProcess, site: str, visitors: list[str]) -> None:
    # A phone's browser, not httpx's agent: the rolled-up funnel leaves bots out.
    with server.client(headers={"User-Agent": PHONE}) as http:
        for vid in visitors:
            assert http.get("/p.gif", params={"s": site, "vid": vid}).status_code == 200
    server.wait_drained()


def _rolled_up_entries(server: ServerProcess, days: dict, timeout: float = 30) -> int:
    """Impression entries once the funnel is answered from the rollup and agrees with the
    events (a day computed before its last events would not)."""
    deadline = time.monotonic() + timeout
    answer: dict = {}
    with server.admin() as http:
        while time.monotonic() < deadline:
            answer = http.get("/api/v1/stats/funnel", params=days).json()
            raw = http.get("/api/v1/stats/funnel", params={**days, "source": "raw"}).json()
            if answer["source"] == "rollup" and answer["rows"] == raw["rows"]:
                [row] = answer["rows"]
                return row["steps"][0]["entries"]
            time.sleep(0.3)
    raise AssertionError(f"the rollup did not catch up by itself: {answer}")


def test_the_rollup_job_refreshes_the_funnel_every_interval(make_server):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    days = {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()}
    server = make_server(ADTRACK_ROLLUP_INTERVAL_S="1")
    site = server.seed()["site"]["site_key"]

    _impressions(server, site, ["a", "b", "c"])
    assert _rolled_up_entries(server, days) == 3
    with server.admin() as http:
        state = http.get("/api/v1/rollups").json()
    assert state["job"]["running"] and state["job"]["interval_s"] == 1
    assert {f["funnel"] for f in state["funnels"]} == {"default", "click_order"}
    refreshes = _refreshes(server)

    # Later events reach the rollup at a later tick, still without being asked.
    _impressions(server, site, ["d", "e"])
    assert _rolled_up_entries(server, days) == 5
    # funnel_daily is written before the job's ranking snapshots; the count follows those.
    deadline = time.monotonic() + 30
    while _refreshes(server) <= refreshes and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _refreshes(server) > refreshes
    with server.admin() as http:
        assert http.get("/api/v1/rollups").json()["job"]["last_error"] is None


def _refreshes(server: ServerProcess) -> int:
    """Refreshes the job finished so far."""
    with server.client() as http:
        text = http.get("/metrics").text
    match = re.search(r"^adtrack_rollup_refreshes_total (\d+)", text, re.M)
    assert match, text
    return int(match.group(1))
