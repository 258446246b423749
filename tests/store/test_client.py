"""Store.insert_arrow: one Arrow IPC stream, the same request on the embedded engine and on a
server (clickhouse-connect's raw_insert; an HTTP server gets the bytes as the request body)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from urllib3.util.request import body_to_chunks

from app.ingest.columns import INSERT_SETTINGS, events_table
from app.store.client import _ipc_stream, open_store
from app.store.migrate import migrate

RECORDS = [
    {"event_id": f"{n:032x}", "event_type": "order", "ts": 1_893_456_000_000 + n, "site_key": "S",
     "amount": f"{n}.25", "props": {"sku": f"p{n}"}, "province": "ignored"}
    for n in range(3)
]  # fmt: skip


def test_payload_is_the_table_as_one_stream_and_an_http_body() -> None:
    table = events_table(RECORDS)
    payload = _ipc_stream(table)
    assert pa.ipc.open_stream(payload).read_all().equals(table)
    # The HTTP transport sends a buffer-protocol body as it is, with its exact length.
    chunks = body_to_chunks(payload, method="POST", blocksize=16384)
    assert chunks.content_length == payload.nbytes == len(b"".join(chunks.chunks))


def test_rows_land_once_under_one_token(tmp_path: Path) -> None:
    store = open_store(f"chdb://{tmp_path / 'ch'}")
    try:
        migrate(store)
        table = events_table(RECORDS)
        for _ in range(2):  # a replay with the same token is dropped
            store.insert_arrow("events", table, dedup_token="t1", settings=INSERT_SETTINGS)
        rows = store.query("SELECT ts, amount, props, province FROM events ORDER BY ts")
    finally:
        store.close()
    start = datetime(2030, 1, 1, tzinfo=UTC)
    assert [(r[0].replace(tzinfo=UTC), r[1], r[2], r[3]) for r in rows] == [
        (start.replace(microsecond=n * 1000), Decimal(f"{n}.25"), {"sku": f"p{n}"}, "")
        for n in range(3)
    ]
