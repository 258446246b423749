"""Page paths, entry/exit pages and funnel drop-offs against the embedded engine: generated
hits go through the real loader, and every figure is checked against a brute-force
recomputation in Python."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.attribution import funnel
from app.attribution.dropoff import dropoff_report, dropoff_row
from app.attribution.filters import Filter, FilterError
from app.attribution.funnel_steps import Step
from app.attribution.pages import pages_report
from app.attribution.paths import build_paths, paths_report
from app.ingest.record import EventIds
from tests.support.loading import world

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY1 = date(2024, 3, 1)
BASE = datetime.combine(DAY1, datetime.min.time(), SHANGHAI)
RANGE = Filter(DAY1, DAY1 + timedelta(days=1))
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GAP = 30 * 60_000
EDGE_GAPS = (GAP - 1000, GAP, GAP + 1000)
# Few pages, so paths repeat; the same page under several URL spellings.
URLS = {
    "/": ("https://shop.example", "https://shop.example/", "https://shop.example/?utm_x=1"),
    "/item": ("https://shop.example/item?id=3", "https://shop.example/item#reviews"),
    "/cart": ("https://shop.example/cart",),
    "/pay": ("https://shop.example/pay?step=2#top",),
}


@dataclass
class Visit:
    ms: int
    visitor: str
    page: str
    channel: str
    is_bot: int


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _generate(rng: random.Random, sites: dict[str, str], landing: str, n: int):
    ids = EventIds()
    records: list[dict] = []
    truth: list[Visit] = []
    start = _ms(BASE)
    pages = sorted(URLS)
    for i in range(n):
        channel = rng.choice(sorted(sites))
        bot = int(rng.random() < 0.08)
        ua = BOT if bot else CHROME
        t = start - 3_600_000 + rng.randint(0, 2 * 86_400_000 + 7_200_000)
        base = {"ip": "202.106.0.20", "user_agent": ua}
        click = ""
        if rng.random() < 0.7:  # came through a partner's link: visits carry its channel
            click = f"c{i}"
            records.append({**base, "event_id": ids.next(), "event_type": "click", "ts": t,
                            "site_key": sites[channel], "visitor_id": f"pv{i}",
                            "click_id": click})  # fmt: skip
        page = rng.choice(pages)
        for k in range(rng.choice((1, 1, 2, 3, 4, 6))):
            t += rng.choice((*EDGE_GAPS, rng.randint(1000, 3 * GAP), 0))
            if k and rng.random() > 0.3:  # otherwise a reload of the same page
                page = rng.choice(pages)
            url = rng.choice(URLS[page])
            records.append({**base, "event_id": ids.next(), "event_type": "visit", "ts": t,
                            "site_key": landing, "visitor_id": f"lv{i}", "click_id": click,
                            "pageview_id": f"p{i}-{k}", "url": url})  # fmt: skip
            truth.append(Visit(t, f"lv{i}", page, channel if click else "owned", bot))
    return records, truth


def _in(flt: Filter, v: Visit) -> bool:
    start, end = (_ms(x) for x in flt.utc_range())
    return (
        start <= v.ms < end
        and (flt.include_bots or not v.is_bot)
        and (not flt.channel or v.channel in flt.channel)
    )


def _sessions(truth: list[Visit], flt: Filter) -> list[tuple[str, list[str], int]]:
    """(channel of the first visit, collapsed pages, page views) per session."""
    per_visitor: dict = defaultdict(list)
    for v in truth:
        if _in(flt, v):
            per_visitor[v.visitor].append((v.ms, v.page, v.channel))
    out = []
    for hits in per_visitor.values():
        hits.sort()
        runs = [[hits[0]]]
        for a, b in zip(hits, hits[1:], strict=False):
            if b[0] - a[0] > GAP:
                runs.append([b])
            else:
                runs[-1].append(b)
        for run in runs:
            pages = [run[0][1]]
            for _, page, _ in run[1:]:
                if page != pages[-1]:
                    pages.append(page)
            out.append((run[0][2], pages, len(run)))
    return out


def _brute_paths(truth, flt, by, top, depth) -> list:
    groups: dict = defaultdict(Counter)
    for channel, pages, _ in _sessions(truth, flt):
        groups[channel if by else ""][" > ".join(pages[:depth])] += 1
    rows = []
    for value, counts in groups.items():
        total = sum(counts.values())
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        paths = [
            {"path": p, "pages": p.split(" > "), "sessions": n, "share": pytest.approx(n / total)}
            for p, n in ranked
        ]
        rows.append({"value": value if by else None, "sessions": total, "paths": paths})
    rows.sort(key=lambda r: (-r["sessions"], r["value"] or ""))
    return rows


def _brute_pages(truth, flt, top) -> dict:
    views: Counter = Counter(v.page for v in truth if _in(flt, v))
    entries: Counter = Counter()
    exits: Counter = Counter()
    bounces: Counter = Counter()
    sessions = _sessions(truth, flt)
    for _, pages, n in sessions:
        entries[pages[0]] += 1
        exits[pages[-1]] += 1
        bounces[pages[0]] += n == 1
    ranked = sorted(views, key=lambda p: (-views[p], -entries[p], p))[:top]
    return {
        "top": top,
        "session_gap_seconds": 1800,
        "page_views": sum(views.values()),
        "sessions": len(sessions),
        "pages": len(views),
        "rows": [
            {
                "page": p,
                "page_views": views[p],
                "entries": entries[p],
                "exits": exits[p],
                "exit_rate": pytest.approx(exits[p] / views[p]),
                "bounces": bounces[p],
                "bounce_rate": pytest.approx(bounces[p] / entries[p]) if entries[p] else None,
            }  # fmt: skip
            for p in ranked
        ],
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, geo_db, migrated_template):
    w = world(tmp_path_factory.mktemp("trajectories"), geo_db[0], template=migrated_template)
    records, truth = _generate(random.Random(20240302), w.sites, w.landing, 700)
    assert w.load(records) == len(records)
    assert w.store.query("SELECT count() FROM events")[0][0] == len(records)
    yield w.store, truth
    w.store.close()


def test_the_generated_data_exercises_every_case(loaded):
    _, truth = loaded
    sessions = _sessions(truth, RANGE)
    assert any(n == 1 for _, _, n in sessions)  # bounces
    assert any(n > len(pages) for _, pages, n in sessions)  # collapsed reloads
    assert any(len(pages) > 3 for _, pages, _ in sessions)
    assert sum(v.is_bot for v in truth) > 10
    assert {c for c, _, _ in sessions} == {"national_portal", "forum", "owned"}


@pytest.mark.parametrize(
    ("flt", "by", "top", "depth"),
    [
        (RANGE, None, 20, 5),
        (RANGE, "channel", 7, 3),
        (RANGE, None, 1000, 1),
        (Filter(RANGE.start, RANGE.end, include_bots=True), "channel", 5, 20),
        (Filter(RANGE.start, RANGE.end, channel=("forum",)), None, 10, 4),
        (Filter(DAY1, DAY1, tz="UTC"), "channel", 4, 2),
    ],
)
def test_paths_match_brute_force(loaded, flt, by, top, depth):
    store, truth = loaded
    report = paths_report(store, flt, by=by, top=top, max_depth=depth)
    assert (report["by"], report["top"], report["max_depth"]) == (by, top, depth)
    assert report["rows"] == _brute_paths(truth, flt, by, top, depth)


@pytest.mark.parametrize(
    ("flt", "top"),
    [
        (RANGE, 50),
        (RANGE, 2),
        (Filter(RANGE.start, RANGE.end, include_bots=True), 50),
        (Filter(RANGE.start, RANGE.end, channel=("national_portal",)), 50),
    ],
)
def test_pages_match_brute_force(loaded, flt, top):
    store, truth = loaded
    assert pages_report(store, flt, top=top) == _brute_pages(truth, flt, top)


def test_bots_change_the_figures(loaded):
    store, _ = loaded
    with_bots = pages_report(store, Filter(RANGE.start, RANGE.end, include_bots=True))
    without = pages_report(store, RANGE)
    assert with_bots["page_views"] > without["page_views"]


def _insert(store, rows: list[tuple[str, datetime, str]]) -> None:
    store.insert_rows(
        "events",
        [["visit", ts, v, "edge", f"edge-{n}", url] for n, (v, ts, url) in enumerate(rows)],
        ["event_type", "ts", "visitor_id", "site_key", "pageview_id", "url"],
    )


def test_session_edges_repeats_and_page_paths(loaded):
    store, _ = loaded
    at = datetime(2025, 1, 10, 2, tzinfo=UTC)
    minute = timedelta(minutes=1)
    second = timedelta(seconds=1)
    gap = 30 * minute
    home, item, cart = "https://s.example/", "https://s.example/item?x=1", "https://s.example/cart"
    _insert(store, [
        ("a", at, home), ("a", at + gap - second, item),  # 29:59: one session
        ("b", at, home), ("b", at + gap + second, item),  # 30:01: two sessions
        ("c", at, home), ("c", at + gap, item),  # exactly 30:00: one session
        # reloads collapse: / > /item > /cart, 5 page views, entry / and exit /cart
        ("d", at, "https://s.example"), ("d", at + minute, home), ("d", at + 2 * minute, item),
        ("d", at + 3 * minute, item + "#more"), ("d", at + 4 * minute, cart),
        ("e", at, home), ("e", at + second, home),  # two views of one page: not a bounce
    ])  # fmt: skip
    flt = Filter(date(2025, 1, 10), date(2025, 1, 10), site_key=("edge",))
    paths = paths_report(store, flt)
    [row] = paths["rows"]
    assert row["sessions"] == 6
    assert [(p["path"], p["sessions"]) for p in row["paths"]] == [
        ("/", 2), ("/ > /item", 2), ("/ > /item > /cart", 1), ("/item", 1),
    ]  # fmt: skip
    assert row["paths"][2]["pages"] == ["/", "/item", "/cart"]
    short = paths_report(store, flt, max_depth=2, top=1)
    assert short["rows"][0]["paths"] == [
        {"path": "/ > /item", "pages": ["/", "/item"], "sessions": 3, "share": 0.5}
    ]
    pages = pages_report(store, flt)
    assert (pages["page_views"], pages["sessions"], pages["pages"]) == (13, 6, 3)
    by_page = {r["page"]: r for r in pages["rows"]}
    assert by_page["/"] == {
        "page": "/", "page_views": 7, "entries": 5, "exits": 2, "exit_rate": pytest.approx(2 / 7),
        "bounces": 1, "bounce_rate": 0.2,
    }  # fmt: skip
    assert by_page["/item"] == {
        "page": "/item", "page_views": 5, "entries": 1, "exits": 3, "exit_rate": 0.6,
        "bounces": 1, "bounce_rate": 1.0,
    }  # fmt: skip
    assert (by_page["/cart"]["exits"], by_page["/cart"]["entries"]) == (1, 0)
    assert by_page["/cart"]["bounce_rate"] is None


def test_empty_range_gives_no_rows(loaded):
    store, _ = loaded
    flt = Filter(date(2020, 1, 1), date(2020, 1, 1))
    assert paths_report(store, flt)["rows"] == []
    report = pages_report(store, flt)
    assert (report["rows"], report["page_views"], report["sessions"]) == ([], 0, 0)


def _counts(row: funnel.FunnelRow) -> list[int]:
    return [f.entries for f in row.steps]


def test_dropoff_is_built_on_the_funnel(loaded):
    store, _ = loaded
    for by in (None, "channel"):
        report = dropoff_report(store, RANGE, ["click", "visit"], by=by)
        result = funnel.run(store, RANGE, (Step("click"), Step("visit")), by=by)
        assert report["steps"] == ["click", "visit"] and report["by"] == by
        assert len(report["rows"]) == len(result.rows) > 0
        for got, row in zip(report["rows"], result.rows, strict=True):
            clicked, visited = _counts(row)
            assert got["value"] == row.value
            assert (got["entered"], got["completed"], got["dropped"]) == (
                clicked, visited, clicked - visited
            )  # fmt: skip
            first, last = got["steps"]
            assert (first["reached"], first["dropped"]) == (clicked, clicked - visited)
            assert first["drop_rate"] == pytest.approx((clicked - visited) / clicked)
            assert last["dropped"] is None and last["drop_rate"] is None


def test_dropoff_on_known_people(loaded):
    store, _ = loaded
    at = datetime(2025, 2, 10, 2, tzinfo=UTC)
    rows = []
    # 4 see an impression; 3 click; 2 visit; 1 orders
    for n, reached in enumerate((1, 2, 3, 4)):
        for k, event_type in enumerate(("impression", "click", "visit", "order")[:reached]):
            rows.append([event_type, at + timedelta(minutes=k), f"k{n}", "drop", f"d{n}-{k}"])
    store.insert_rows("events", rows, ["event_type", "ts", "visitor_id", "site_key", "pageview_id"])
    flt = Filter(date(2025, 2, 10), date(2025, 2, 10), site_key=("drop",))
    [row] = dropoff_report(store, flt)["rows"]
    assert (row["entered"], row["completed"], row["dropped"]) == (4, 1, 3)
    assert [s["reached"] for s in row["steps"]] == [4, 3, 2, 1]


def _row(*counts: int) -> funnel.FunnelRow:
    steps = ("impression", "click", "visit", "order", "event")
    figures = tuple(
        funnel.StepFigures(Step(steps[i]), n, None, None, None) for i, n in enumerate(counts)
    )
    return funnel.FunnelRow("x", figures)


def test_dropoff_arithmetic():
    row = dropoff_row(_row(4, 3, 2, 1))
    assert (row["value"], row["entered"], row["completed"], row["dropped"]) == ("x", 4, 1, 3)
    assert [s["reached"] for s in row["steps"]] == [4, 3, 2, 1]
    assert [s["dropped"] for s in row["steps"]] == [1, 1, 1, None]
    assert [s["drop_rate"] for s in row["steps"]] == [0.25, 1 / 3, 0.5, None]
    assert [s["share_of_dropoffs"] for s in row["steps"]] == [1 / 3, 1 / 3, 1 / 3, None]
    assert row["worst_step"] == "impression"  # the first of equals
    row = dropoff_row(_row(10, 8, 2, 2, 0))
    assert [s["dropped"] for s in row["steps"]] == [2, 6, 0, 2, None]
    assert row["worst_step"] == "click" and row["dropped"] == 10
    assert row["steps"][1]["share_of_dropoffs"] == 0.6
    row = dropoff_row(_row(5, 5))
    assert row["worst_step"] is None and row["steps"][0]["share_of_dropoffs"] is None
    assert row["steps"][0]["drop_rate"] == 0.0
    row = dropoff_row(_row(0, 0))
    assert row["steps"][0]["drop_rate"] is None


@pytest.mark.parametrize(
    "call",
    [
        lambda s: paths_report(s, RANGE, by="channel) OR (1=1"),
        lambda s: paths_report(s, RANGE, top=0),
        lambda s: paths_report(s, RANGE, top="5"),
        lambda s: paths_report(s, RANGE, max_depth=0),
        lambda s: paths_report(s, RANGE, max_depth=21),
        lambda s: pages_report(s, RANGE, top=-1),
        lambda s: pages_report(s, RANGE, top=True),
        lambda s: dropoff_report(s, RANGE, ["click"]),
        lambda s: dropoff_report(s, RANGE, ["click", "purchase"]),
        lambda s: dropoff_report(s, RANGE, "click"),
        lambda s: dropoff_report(s, RANGE, ["click", "order"], window_seconds=0),
        lambda s: dropoff_report(s, RANGE, ["click", "order"], by="nope"),
    ],
)
def test_bad_arguments_raise_filter_error(loaded, call):
    store, _ = loaded
    with pytest.raises(FilterError):
        call(store)


def test_values_are_bound_not_formatted():
    sql, params = build_paths(Filter(DAY1, DAY1, channel=("x' --",)), "channel")
    assert "x' --" not in sql and params["channel"] == ["x' --"]
    assert params["separator"] == " > "
