"""Enrichment steps over slices: the landing-URL query, the pipeline's drops, click prefetch."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.ingest.enrich.campaign import put_campaign, query_pairs
from app.ingest.enrich.click import ClickIndex
from app.ingest.enrich.pipeline import NO_DROPS, Pipeline
from app.ingest.reasons import RejectReason


def _reference_pairs(url: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(urlsplit(url).query)
    except ValueError:
        return []


URL_PIECES = st.sampled_from(
    ["https://", "//", "http:", "shop.example", "/p", "?", "&", "=", "#", "+", "%", "%20",
     "%2", "%e4%b8%ad", "%zz", "utm_source", "utm_term", "adt_cid", "L1-x", "a", "[", "]",
     "[::1]", "\t", "\n", "\r", " ", "中", ";", "\x00", ":80", "@", "utm%5Fsource"]
)  # fmt: skip


@settings(max_examples=1000)
@given(st.one_of(st.lists(URL_PIECES, max_size=14).map("".join), st.text(max_size=80)))
@example("https://s.example/p?a=&utm_source=x")
@example("https://s.example/p?utm_source=a\tb&adt_cid=c\r\nd")
@example("https://s.example/p#f?utm_source=x")
@example("https://[::1]/p?utm_source=x")
@example("https://[::1/p?utm_source=x")
@example("https://中.example/p?utm_source=%E4%B8%AD+x")
@example("https://a\uff0fb.example/p?utm_source=x")  # NFKC makes the host hold a '/'
@example("https://s.example/p?%75tm_source=x&utm%5Fterm=y")
def test_query_pairs_is_parse_qsl_of_urlsplit(url: str) -> None:
    assert query_pairs(url) == _reference_pairs(url)


def test_put_campaign_fills_only_what_the_hit_lacks() -> None:
    records = [
        {"url": "https://s.example/p?utm_source=a+b&utm_medium=&adt_cid=L1-x#f", "utm_source": ""},
        {"url": "https://s.example/p?utm_source=url", "utm_source": "own"},
        {"event_type": "click", "url": "https://s.example/p?adt_cid=L1-y"},
        {"url": "https://[::1/p?utm_source=bad-host"},
        {"url": "https://s.example/p?utm_campaign=" + "x" * 300},
    ]
    assert put_campaign(records) == NO_DROPS
    assert records[0]["utm_source"] == "a b" and records[0]["click_id"] == "L1-x"
    assert "utm_medium" not in records[0]
    assert records[1]["utm_source"] == "own"
    assert "click_id" not in records[2]
    assert "utm_source" not in records[3]
    assert records[4]["utm_campaign"] == "x" * 256


def test_pipeline_drops_by_position_and_stops_there() -> None:
    seen: list[int] = []

    def drop_odd(records):  # noqa: ANN001, ANN202
        return [(i, RejectReason.DUPLICATE_ORDER) for i, r in enumerate(records) if r["n"] % 2]

    def note(records):  # noqa: ANN001, ANN202
        seen.extend(r["n"] for r in records)
        return NO_DROPS

    pipeline = Pipeline([("drop_odd", drop_odd), ("note", note)])
    kept, dropped = pipeline.run([{"n": n} for n in range(5)])
    assert [r["n"] for r in kept] == [0, 2, 4] == seen
    assert [(r["n"], reason, step) for r, reason, step in dropped] == [
        (1, "duplicate_order", "drop_odd"),
        (3, "duplicate_order", "drop_odd"),
    ]
    assert pipeline.drops == {("drop_odd", "duplicate_order"): 2}
    assert set(pipeline.seconds) == {"drop_odd", "note"}


class _QueryLog:
    """A store that records which click ids were asked for and knows none."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def query(self, sql: str, parameters: dict) -> list[tuple]:
        self.asked.append(parameters["ids"])
        return []


def test_prefetch_skips_clicks_earlier_in_the_batch() -> None:
    store = _QueryLog()
    clicks = ClickIndex(store)  # type: ignore[arg-type]
    clicks.prefetch(
        [
            {"event_type": "click", "click_id": "L1-a"},
            {"event_type": "visit", "click_id": "L1-a"},  # its click is earlier: remembered
            {"event_type": "order", "click_id": "L1-b"},  # its click comes later: asked for
            {"event_type": "click", "click_id": "L1-b"},
            {"event_type": "visit", "click_id": "L1-old"},  # from an earlier batch: asked for
        ]
    )
    assert store.asked == [["L1-b", "L1-old"]]
    clicks.remember_click([{"event_type": "click", "click_id": "L1-c", "visitor_id": "v"}])
    clicks.prefetch([{"event_type": "visit", "click_id": "L1-c"}])  # in memory
    assert len(store.asked) == 1
