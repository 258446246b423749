"""`adtrack demo`: fill the store with a realistic month of traffic (bulk), or send it through
a running server (http)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from app.settings import Settings, load_settings

# The demo's modules load with the command, not with every `adtrack` start.
if TYPE_CHECKING:
    from app.demo.bulk import BulkResult
    from app.demo.http import HttpResult
    from app.demo.traffic import Plan, Stats

DEFAULT_EVENTS = {"bulk": 1_000_000, "http": 20_000}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `demo` on the `adtrack` command line."""
    parser = subparsers.add_parser(
        "demo",
        help="fill the store with a realistic month of demo traffic",
        description=(
            "Generate a month of traffic for a demo world (advertisers, campaigns, partners of "
            "every channel type, sites, placements, tracked links): impressions, clicks, "
            "landing visits, actions, orders and refunds. bulk: straight through the loader "
            "into the store (no server may hold it). http: through a running server's "
            "endpoints; start it with ADTRACK_TRUSTED_PROXIES=127.0.0.1 so it takes each "
            "visitor's address from X-Forwarded-For, and ADTRACK_DEMO_CLOCK=true so it takes "
            "each event's time from the demo (proved by a key derived from the admin token): "
            "the period then ends before now and starts at most 90 days back."
        ),
    )
    parser.add_argument("--mode", choices=("bulk", "http"), default="bulk")
    parser.add_argument("--days", type=_positive, default=30, help="length of the period")
    parser.add_argument(
        "--events",
        type=_positive,
        default=None,
        help="approximate number of events (default: 1,000,000 bulk, 20,000 http)",
    )
    parser.add_argument("--seed", type=int, default=1, help="same seed, same traffic")
    parser.add_argument(
        "--end",
        default="",
        type=_end_ms,
        help="end of the period, ISO date or time, UTC (default: the start of the current hour)",
    )
    parser.add_argument(
        "--chunk", type=_positive, default=50_000, help="bulk: events per loader batch"
    )
    parser.add_argument("--url", default="", help="http: server URL (default from settings)")
    parser.add_argument(
        "--token",
        default="",
        help="http: admin token (default ADTRACK_ADMIN_TOKEN, or the data dir's admin_token file)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=8,
        help="http: requests in flight (the Python client tops out near 1,000 requests/s; "
        "more connections only add overhead)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="http: at most this many requests per second (0: unbounded)",
    )
    parser.set_defaults(func=cmd_demo)
    return parser


def _positive(text: str) -> int:
    value = int(text.replace(",", "").replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _end_ms(text: str) -> int:
    if not text:
        return 0
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("must be an ISO date or date-time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _admin_token(settings: Settings, given: str) -> str:
    if given or settings.admin_token:
        return given or settings.admin_token
    with contextlib.suppress(OSError):
        return (settings.data_dir / "admin_token").read_text("utf-8").strip()
    return ""


def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo.bulk import StoreBusy, run_bulk
    from app.demo.traffic import Plan, default_end_ms

    try:
        settings = load_settings()
    except ValidationError as exc:
        print(f"adtrack: bad settings: {exc}", file=sys.stderr)
        return 2
    plan = Plan(
        days=args.days,
        events=args.events or DEFAULT_EVENTS[args.mode],
        seed=args.seed,
        end_ms=args.end or default_end_ms(),
    )

    def progress(line: str) -> None:
        print(f"adtrack demo: {line}", file=sys.stderr, flush=True)

    if args.mode == "bulk":
        try:
            result = run_bulk(settings, plan, chunk_rows=args.chunk, progress=progress)
        except StoreBusy as exc:
            print(f"adtrack: {exc}", file=sys.stderr)
            return 1
        print(bulk_summary(result, plan))
        return 0

    # Only the http mode needs httpx (a dev dependency today), so bulk runs without it.
    from app.demo.http import DemoHttpError, check_period, run_http

    problem = check_period(plan, int(datetime.now(UTC).timestamp() * 1000))
    if problem:
        flag, reason = problem.split(": ", 1)
        print(f"adtrack: {flag} (--{flag}): {reason}", file=sys.stderr)
        return 2

    url = args.url.rstrip("/") or settings.local_url()
    try:
        result_http = run_http(
            url,
            _admin_token(settings, args.token),
            plan,
            concurrency=args.concurrency,
            rate=args.rate,
            progress=progress,
        )
    except DemoHttpError as exc:
        print(f"adtrack: {exc}", file=sys.stderr)
        return 1
    print(http_summary(result_http, plan, url))
    if result_http.warning:
        print(f"adtrack: warning: {result_http.warning}", file=sys.stderr)
    return 0


# -- the summary --------------------------------------------------------------------------
def _local_date(ms: int) -> str:
    from app.demo.traffic import LOCAL_OFFSET_MS

    return datetime.fromtimestamp((ms + LOCAL_OFFSET_MS) / 1000, UTC).strftime("%Y-%m-%d")


def _counts(counter: dict[str, int]) -> str:
    return (
        " · ".join(
            f"{name} {count:,}" for name, count in sorted(counter.items(), key=lambda kv: -kv[1])
        )
        or "none"
    )


def _common_lines(stats: Stats, plan: Plan, result: BulkResult | HttpResult) -> list[str]:
    from app.demo.traffic import DAY_MS

    world = result.world
    channels = {s.channel for s in world.spec.sites}
    clicks = stats.by_type.get("click", 0)
    impressions = stats.by_type.get("impression", 0)
    orders = stats.by_type.get("order", 0) - stats.refunds - stats.reloads
    first = stats.first_ms or plan.start_ms
    last = stats.last_ms or plan.end_ms - 1
    return [
        f"  period     {_local_date(first)} … {_local_date(last)} (UTC+8), "
        f"{(last - plan.start_ms) // DAY_MS + 1} days",
        f"  world      {len(world.advertiser_ids)} advertisers, {len(world.campaign_ids)} "
        f"campaigns, {len(world.partners)} partners over {len(channels)} channel types, "
        f"{len(world.site_keys)} partner sites, {len(world.slots)} tracked links",
        f"  partners   {', '.join(world.partners)}",
        f"  events     {_counts(stats.by_type)}; the order rows are {orders:,} orders, "
        f"{stats.refunds:,} refunds and {stats.reloads:,} reloaded thank-you pages; "
        f"{stats.postbacks:,} came by postback",
        f"  rates      CTR {clicks / max(impressions, 1):.2%}, click→order "
        f"{orders / max(clicks, 1):.2%}",
    ]


def bulk_summary(result: BulkResult, plan: Plan) -> str:
    stats = result.stats
    lines = [
        f"adtrack demo (bulk, seed {plan.seed}): {result.loaded:,} events loaded in "
        f"{result.seconds:.1f} s, {result.events_per_s:,.0f} events/s"
    ]
    if result.stored < result.loaded:
        lines.append(
            f"  rerun      this plan was loaded before: the store took {result.stored:,} new "
            "events (chunk tokens deduplicate); change --seed for more traffic"
        )
    lines += _common_lines(stats, plan, result)
    rejects = f"  rejects    {result.rejected:,}, all intended: {_counts(dict(stats.rejects))}"
    dropped = result.rejected - sum(stats.rejects.values())
    if dropped:
        rejects += f" · duplicate orders dropped by the loader {dropped:,}"
    lines.append(rejects)
    slowest = sorted(result.enrich_seconds.items(), key=lambda kv: -kv[1])[:3]
    lines.append(
        f"  time       generating {result.generate_seconds:.1f} s, loader "
        f"{result.load_seconds:.1f} s in {result.chunks} chunks (enrichment "
        f"{sum(result.enrich_seconds.values()):.1f} s, most in "
        + ", ".join(f"{name} {sec:.1f} s" for name, sec in slowest)
        + ")"
    )
    return "\n".join(lines)


def http_summary(result: HttpResult, plan: Plan, url: str) -> str:
    failed = sum(result.failed.values())
    requests = (
        f"  requests   {_counts(result.requests)}; intended rejects "
        f"{result.intended_rejects:,}; unexpected answers {failed:,}"
    )
    if failed:
        requests += f" ({_counts(result.failed)})"
    return "\n".join(
        [
            f"adtrack demo (http → {url}, seed {plan.seed}): {result.stats.events:,} events in "
            f"{result.sent:,} requests, {result.seconds:.1f} s, "
            f"{result.events_per_s:,.0f} events/s",
            *_common_lines(result.stats, plan, result),
            requests,
            f"  server     events by type now: {_counts(result.loaded)}",
            "  times      "
            + (
                "arrival times (see the warning below): the period is not spread over days"
                if "arrival times" in result.warning
                else "each event at its own time in the period (the server's demo clock)"
            ),
        ]
    )
