"""When an order counts: the one definition every report (and the rollup tables) uses.

An order is the set of `order` events of one (scope, order id), scope being the advertiser
(or, without one, the site): a postback of approval, then one of refund, is one order that
was refunded. Its **status** is that of its latest event by time, signed reports first (a
page's report never displaces an advertiser's signed postback, as at ingest); its
**amount** that of its newest report with a non-zero amount, signed reports first (a signed
refund that says 0 keeps the approved amount). It counts once, on the time, site and
attribution (channel, partner, click…) of its first event, so a later status change moves no
order to another day or channel — it changes what the order counts as:

- `approved` (and the empty status of orders stored before statuses existed): an order,
  its amount revenue;
- `pending`: shown apart (pending orders and amount), neither orders nor revenue;
- `refunded`, `cancelled`: refunds (their count and amount), neither orders nor revenue.

An `order` event without an order id is an order of its own.

`EVENTS` is `events` with each order's events folded into that one row (its `order_status`
the order's status, its `amount` the order's amount): a report reads it where it read
`events` and tests `COUNTED` (or `PENDING`, `REFUNDED`) where it tested the status. The
rollup tables net a status change the same way at insert (sql/0014_order_status_rollups.sql).
"""

from __future__ import annotations

# Status classes of an order row (over `order_status` of `EVENTS`).
COUNTED_STATUSES = ("approved", "")
PENDING_STATUSES = ("pending",)
REFUND_STATUSES = ("refunded", "cancelled")


def _in(statuses: tuple[str, ...]) -> str:
    return "order_status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


COUNTED = f"event_type = 'order' AND {_in(COUNTED_STATUSES)}"
PENDING = f"event_type = 'order' AND {_in(PENDING_STATUSES)}"
REFUNDED = f"event_type = 'order' AND {_in(REFUND_STATUSES)}"

# The order an `order` event belongs to.
SCOPE = "if(advertiser_id != '', advertiser_id, site_key)"
# Which report of an order is newer: signed postbacks first, then time, then id (ties).
_NEWEST = "(order_source = 'postback', ts, event_id)"
_AMOUNT_NEWEST = "(order_source = 'postback', amount != 0, ts, event_id)"

# `events`, every order folded into its first event (see the module docstring). Reads every
# order event (they are few beside the traffic); every other event passes unchanged.
EVENTS = f"""(
    SELECT * FROM events WHERE event_type != 'order' OR order_id = ''
    UNION ALL
    SELECT * EXCEPT (o_scope, o_status, o_amount, o_first)
             REPLACE (o_status AS order_status, o_amount AS amount)
    FROM (
        SELECT *, {SCOPE} AS o_scope,
               argMax(order_status, {_NEWEST}) OVER o AS o_status,
               argMax(amount, {_AMOUNT_NEWEST}) OVER o AS o_amount,
               row_number() OVER (PARTITION BY o_scope, order_id ORDER BY ts, event_id) AS o_first
        FROM events
        WHERE event_type = 'order' AND order_id != ''
        WINDOW o AS (PARTITION BY o_scope, order_id)
    )
    WHERE o_first = 1
)"""  # noqa: S608 (no input in the text)
