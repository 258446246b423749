"""The order-status migration (sql/0014_order_status_rollups.sql) on a store that already
holds orders: the daily counts tables are rebuilt with every order once, by its latest status,
equal to the events path; and later reports of those orders net out at insert."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from app.attribution import counts
from app.attribution.filters import Filter
from app.store.client import open_store
from app.store.migrate import SQL_DIR, migrate

RANGE = Filter(date(2024, 5, 6), date(2024, 5, 8))
NOON = datetime(2024, 5, 6, 4, tzinfo=UTC)  # 12:00 in Shanghai
COLUMNS = ["event_id", "event_type", "ts", "channel", "advertiser_id", "click_id", "order_id",
           "order_status", "order_source", "amount"]  # fmt: skip


def _order(hours: float, channel: str, order_id: str, status: str, amount: str, click=""):
    return [uuid.uuid4(), "order", NOON + timedelta(hours=hours), channel, "adv", click,
            order_id, status, "postback", Decimal(amount)]  # fmt: skip


def _figures(store, source: str) -> dict[str, tuple]:
    return {
        r.value: (
            r.orders,
            r.revenue,
            r.pending,
            r.pending_amount,
            r.refunds,
            r.refund_amount,
            r.direct_orders,
        )  # fmt: skip
        for r in counts.counts(store, RANGE, "channel", source=source)
    }


def test_the_migration_rebuilds_the_tables_by_latest_status(tmp_path: Path):
    before = tmp_path / "sql"
    before.mkdir()
    for path in sorted(SQL_DIR.glob("*.sql")):
        if int(path.name[:4]) < 14:
            shutil.copy(path, before / path.name)
    store = open_store(f"chdb://{tmp_path / 'ch'}")
    try:
        migrate(store, before)  # the schema as it was
        store.insert_rows("events", [
            [uuid.uuid4(), "click", NOON, "forum", "adv", "c1", "", "", "", Decimal(0)],
            _order(1, "forum", "A", "approved", "500.00", "c1"),
            _order(2, "forum", "B", "approved", "199.00", "c1"),
            _order(3, "portal", "C", "pending", "80.00"),
            _order(3.2, "portal", "", "pending", "9.00"),
            _order(3.5, "portal", "", "approved", "7.00"),
            _order(3.6, "portal", "", "approved", "8.00"),
        ], COLUMNS)  # fmt: skip
        store.insert_rows("events", [_order(30, "forum", "A", "refunded", "0")], COLUMNS)
        migrate(store)  # 0014 on the stored events
        expected = {
            "forum": (1, Decimal("199.00"), 0, Decimal("0.00"), 1, Decimal("500.00"), 0),
            "portal": (2, Decimal("15.00"), 2, Decimal("89.00"), 0, Decimal("0.00"), 2),
        }
        assert _figures(store, "raw") == expected
        assert _figures(store, "rollup") == expected
        # Later reports net out at insert: C approved (its pending amount kept), B cancelled.
        later = [
            _order(40, "portal", "C", "approved", "0"),
            _order(41, "forum", "B", "cancelled", "0"),
            _order(42, "portal", "", "refunded", "4.00"),  # no order id: an order of its own
        ]
        store.insert_rows("events", later, COLUMNS)
        expected = {
            "forum": (0, Decimal("0.00"), 0, Decimal("0.00"), 2, Decimal("699.00"), 0),
            "portal": (3, Decimal("95.00"), 1, Decimal("9.00"), 1, Decimal("4.00"), 3),
        }
        assert _figures(store, "raw") == expected
        assert _figures(store, "rollup") == expected
    finally:
        store.close()
