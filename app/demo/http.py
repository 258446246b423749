"""HTTP mode: the demo's journeys sent through a running server's real endpoints.

The world is created through the admin API; then each generated record becomes the request
that would have produced it: impressions hit the pixel, clicks follow /c/CODE (without
following the redirect; the server's click id from Location replaces the generated one),
landing visits, custom events and thank-you-page orders go to the /e beacon, and billing
confirmations and refunds are signed postbacks. Every request carries the visitor's address in
X-Forwarded-For, so the server must trust the sender: run it with
ADTRACK_TRUSTED_PROXIES=127.0.0.1 (or the demo host's address). Every request also carries the
record's time and the demo key (app/tracker/demo_clock.py), which a server started with
ADTRACK_DEMO_CLOCK=true believes, so the period's days and hours are the events' times; a
server without it stamps arrival times, and the demo warns.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from app.catalog.links import CLICK_PARAM
from app.demo.scenario import CatalogOps, World, ensure_world
from app.demo.traffic import Plan, Stats, Traffic
from app.ingest.record import Record
from app.tracker.demo_clock import KEY_HEADER, MAX_PAST_MS, TIME_HEADER, demo_key
from app.tracker.postback import sign

# Beacon field name for each events column a landing-page record carries.
_BEACON_FIELDS = {
    "event_type": "e",
    "site_key": "s",
    "event_name": "n",
    "click_id": "cid",
    "visitor_id": "vid",
    "session_id": "sid",
    "pageview_id": "pv",
    "url": "url",
    "referrer": "ref",
    "screen": "sr",
    "language": "lang",
    "duration_ms": "d",
    "order_id": "oid",
    "amount": "amt",
    "currency": "cur",
    "props": "p",
    "referrer_id": "ref_id",
}
_PIXEL_FIELDS = {
    "site_key": "s",
    "visitor_id": "vid",
    "campaign_id": "c",
    "placement_id": "pl",
    "creative_id": "cr",
    "url": "url",
}


class DemoHttpError(Exception):
    """The server cannot take the demo (not reachable, token refused, API error)."""


@dataclass
class HttpResult:
    world: World
    stats: Stats
    requests: Counter[str] = field(default_factory=Counter)  # by endpoint
    failed: Counter[str] = field(default_factory=Counter)  # unexpected answers, by endpoint
    intended_rejects: int = 0
    seconds: float = 0.0
    loaded: dict[str, int] = field(default_factory=dict)  # the server's events by type, after
    warning: str = ""

    @property
    def sent(self) -> int:
        return sum(self.requests.values())

    @property
    def events_per_s(self) -> float:
        return self.stats.events / self.seconds if self.seconds else 0.0


# -- the world through the admin API ------------------------------------------------------
def api_ops(client: httpx.Client) -> CatalogOps:
    def get(path: str) -> list[dict]:
        return _checked(client.get(path))

    def post(path: str, body: dict[str, Any]) -> dict:
        return _checked(client.post(path, json=body))

    return CatalogOps(
        advertisers=lambda: get("/api/v1/advertisers"),
        campaigns=lambda: get("/api/v1/campaigns"),
        sites=lambda: get("/api/v1/sites"),
        links=lambda: get("/api/v1/links"),
        partners=lambda: get("/api/v1/partners"),
        new_partner=lambda pid, name: post("/api/v1/partners", {"id": pid, "name": name}),
        new_advertiser=lambda name: post("/api/v1/advertisers", {"name": name}),
        new_campaign=lambda name, adv: post(
            "/api/v1/campaigns", {"name": name, "advertiser_id": adv}
        ),
        new_site=lambda name, partner, domain, channel, owner: post(
            "/api/v1/sites",
            {
                "name": name,
                "partner": partner,
                "domain": domain,
                "channel": channel,
                "advertiser_id": owner,
            },
        ),
        new_link=lambda cmp, site, url, placement, creative: post(
            "/api/v1/links",
            {
                "campaign_id": cmp,
                "site_key": site,
                "landing_url": url,
                "placement_id": placement,
                "creative_id": creative,
            },
        ),
    )


def _checked(response: httpx.Response) -> Any:
    if response.status_code == 401:
        raise DemoHttpError(
            "the server refused the admin token: pass --token, set "
            "ADTRACK_ADMIN_TOKEN, or run where <data dir>/admin_token is readable"
        )
    if response.status_code >= 400:
        raise DemoHttpError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response.json()


def ensure_world_via_api(url: str, token: str) -> World:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            return ensure_world(api_ops(client))
    except httpx.HTTPError as exc:
        raise DemoHttpError(f"cannot reach the server at {url}: {exc}") from exc


# -- records as requests ------------------------------------------------------------------
class Sender:
    """Turns records into requests, in order per journey: a record that follows a click
    waits until the click's redirect told the server's click id."""

    def __init__(
        self, client: httpx.AsyncClient, world: World, rate: float, clock_key: str = ""
    ) -> None:
        self.client = client
        self.clock_key = clock_key
        self.world = world
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next_slot = 0.0
        self._clicks: dict[str, asyncio.Future[str | None]] = {}
        self._secrets = {world.advertiser_ids[k]: v for k, v in world.secrets.items()}
        self.requests: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.intended_rejects = 0

    def expect_click(self, record: Record) -> None:
        """Called in generation order, before any worker can need the click."""
        if record.get("event_type") == "click":
            self._clicks[record["click_id"]] = asyncio.get_running_loop().create_future()

    async def _pace(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        slot = max(self._next_slot, now)
        self._next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _server_click_id(self, click_id: str) -> str | None:
        future = self._clicks.get(click_id)
        return await future if future is not None else None

    async def send(self, record: Record) -> None:
        if "reject" in record:
            await self._intended_reject(record)
        elif record["event_type"] == "impression":
            await self._pixel(record)
        elif record["event_type"] == "click":
            await self._click(record)
        elif record.get("_src") == "postback":
            await self._postback(record)
        else:
            await self._beacon(record)

    def _headers(self, record: Record, **extra: str) -> dict[str, str]:
        headers = {"X-Forwarded-For": record["ip"], "User-Agent": record["user_agent"], **extra}
        if self.clock_key:  # the demo clock: the record's own time, with the key that proves it
            headers[TIME_HEADER] = str(record["ts"])
            headers[KEY_HEADER] = self.clock_key
        return {k: v for k, v in headers.items() if v}

    async def _request(
        self, endpoint: str, method: str, path: str, expect: int, **kwargs: Any
    ) -> httpx.Response | None:
        await self._pace()
        self.requests[endpoint] += 1
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError:
            self.failed[endpoint] += 1
            return None
        if response.status_code != expect:
            self.failed[endpoint] += 1
        return response

    async def _pixel(self, record: Record) -> None:
        params = {
            "e": "impression",
            **{short: record[col] for col, short in _PIXEL_FIELDS.items() if record.get(col)},
        }
        await self._request(
            "/p.gif",
            "GET",
            "/p.gif",
            200,
            params=params,
            headers=self._headers(record, Referer=record.get("referrer", "")),
        )

    async def _click(self, record: Record) -> None:
        future = self._clicks[record["click_id"]]
        # As the snippet tags a tracked link: the partner page's visitor id as `vid`.
        headers = self._headers(record, Referer=record.get("referrer", ""))
        response = await self._request(
            "/c",
            "GET",
            f"/c/{record['link_code']}",
            302,
            params={"vid": record["visitor_id"]},
            headers=headers,
        )
        server_id = None
        if response is not None and response.status_code == 302:
            query = parse_qs(urlsplit(response.headers.get("location", "")).query)
            server_id = (query.get(CLICK_PARAM) or [None])[0]
        future.set_result(server_id)

    async def _beacon(self, record: Record) -> None:
        event = {short: record[col] for col, short in _BEACON_FIELDS.items() if record.get(col)}
        if "cid" in event:
            server_id = await self._server_click_id(event["cid"])
            if server_id is None:
                self.failed["/e"] += 1
                return
            event["url"] = event.get("url", "").replace(event["cid"], server_id)
            event["cid"] = server_id
        response = await self._request(
            "/e", "POST", "/e", 200, json={"events": [event]}, headers=self._headers(record)
        )
        if response is not None and response.status_code == 200 and response.json()["rejected"]:
            self.failed["/e"] += 1

    async def _postback(self, record: Record) -> None:
        server_id = await self._server_click_id(record["click_id"])
        if server_id is None:
            self.failed["/postback"] += 1
            return
        params = {
            "cid": server_id,
            "oid": record["order_id"],
            "amt": record["amount"],
            "cur": record["currency"],
            "status": record["order_status"],
        }
        params["sig"] = sign(params, self._secrets[record["advertiser_id"]])
        await self._request(
            "/postback", "GET", "/postback", 200, params=params, headers=self._headers(record)
        )

    async def _intended_reject(self, record: Record) -> None:
        """A hit the edge is meant to refuse, sent as it would arrive."""
        headers = self._headers(record)
        if record["endpoint"] == "/c":
            response = await self._request("/c", "GET", f"/c/{record['raw']}", 404, headers=headers)
        else:
            response = await self._request(
                "/postback", "GET", f"/postback?{record['raw']}", 403, headers=headers
            )
        if response is not None and response.status_code in (403, 404):
            self.intended_rejects += 1


async def _send_all(sender: Sender, traffic: Traffic, concurrency: int) -> None:
    queue: asyncio.Queue[Record | None] = asyncio.Queue(maxsize=concurrency * 4)

    async def worker() -> None:
        while (record := await queue.get()) is not None:
            await sender.send(record)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        for events, rejects in traffic.days():
            # Rejects go first in their day: none of them is a click a later record needs.
            for record in [*rejects, *events]:
                sender.expect_click(record)
                await queue.put(record)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()


def wait_loaded(
    url: str, token: str, timeout: float = 60.0, *, sent_after_ms: int = 0
) -> tuple[dict[str, int], str]:
    """Wait until the server's spool is drained: its events by type then, and a warning when
    the server did not take the visitors' addresses from X-Forwarded-For, or (when the plan
    ended before `sent_after_ms`, the moment sending began) stamped arrival times instead
    of the demo clock's."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    stamped_now: list[Any] = []
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        while time.monotonic() < deadline:
            status = _checked(client.get("/api/v1/ingest/status"))
            if status["spool"]["bytes"] == 0:
                break
            time.sleep(0.2)
        recent = _checked(
            client.get("/api/v1/events", params={"event_type": "impression", "limit": 50})
        )
        if sent_after_ms:
            since = datetime.fromtimestamp(sent_after_ms / 1000, UTC).isoformat()
            stamped_now = _checked(
                client.get("/api/v1/events", params={"since": since, "limit": 1})
            )["events"]
    addresses = {row["ip"] for row in recent["events"]}
    warnings = []
    if addresses and addresses <= {"127.0.0.1", "::1"}:
        warnings.append(
            "the server stored the demo's own address, not the visitors': start it "
            "with ADTRACK_TRUSTED_PROXIES=127.0.0.1 so it reads X-Forwarded-For"
        )
    if stamped_now:
        warnings.append(
            "the server stamped arrival times, not the period's: start it with "
            "ADTRACK_DEMO_CLOCK=true, and pass the bootstrap admin token (ADTRACK_ADMIN_TOKEN "
            "or the data dir's admin_token), not an API key"
        )
    return dict(status.get("events_by_type") or {}), "; ".join(warnings)


def check_period(plan: Plan, now_ms: int) -> str:
    """Why the server's demo clock would not take this plan's times ("" if it would): no
    time after sending begins, none more than 90 days back (an hour kept for the run)."""
    if plan.end_ms > now_ms:
        return "end: the http mode's period must end before now (the server takes no future)"
    if plan.start_ms < now_ms - MAX_PAST_MS + 3_600_000:
        return "days: the http mode's period must start within 90 days of now, less an hour"
    return ""


def run_http(
    url: str,
    token: str,
    plan: Plan,
    *,
    concurrency: int = 8,
    rate: float = 1000.0,
    progress: Callable[[str], None] | None = None,
) -> HttpResult:
    url = url.rstrip("/")
    world = ensure_world_via_api(url, token)
    if progress:
        progress(f"world ready: {len(world.slots)} tracked links")
    traffic = Traffic(world, plan)
    started = time.perf_counter()
    sent_after_ms = int(time.time() * 1000)

    async def main() -> Sender:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=url, timeout=30, limits=limits, follow_redirects=False
        ) as client:
            sender = Sender(client, world, rate, demo_key(token))
            await _send_all(sender, traffic, concurrency)
            return sender

    try:
        sender = asyncio.run(main())
    except httpx.HTTPError as exc:
        raise DemoHttpError(f"cannot reach the server at {url}: {exc}") from exc
    seconds = time.perf_counter() - started
    ended_before = plan.end_ms <= sent_after_ms
    loaded, warning = wait_loaded(url, token, sent_after_ms=sent_after_ms if ended_before else 0)
    return HttpResult(
        world=world,
        stats=traffic.stats,
        requests=sender.requests,
        failed=sender.failed,
        intended_rejects=sender.intended_rejects,
        seconds=seconds,
        loaded=loaded,
        warning=warning,
    )
