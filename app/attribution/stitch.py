"""Cross-domain stitching shared by every per-person query: the `clicks` and `aliases` CTEs.

A person is the partner page's visitor id (impression, click). Events that carry a click id
belong to that click's visitor, and a landing visitor id seen with a click id stands for the
click's visitor on its other events too (its earliest such click within the look-back).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# The CTEs read clicks (and the events carrying their ids) in [stitch_from, stitch_to).
CTES = """clicks AS (
    SELECT click_id AS c_click, argMin(visitor_id, ts) AS c_person
    FROM events
    WHERE event_type = 'click' AND click_id != '' AND visitor_id != ''
      AND ts >= {stitch_from:DateTime64(3, 'UTC')} AND ts < {stitch_to:DateTime64(3, 'UTC')}
    GROUP BY click_id
),
aliases AS (
    SELECT e.visitor_id AS a_visitor, argMin(c.c_person, e.ts) AS a_person
    FROM events AS e INNER JOIN clicks AS c ON e.click_id = c.c_click
    WHERE e.event_type != 'click' AND e.visitor_id != '' AND e.visitor_id != c.c_person
      AND e.ts >= {stitch_from:DateTime64(3, 'UTC')} AND e.ts < {stitch_to:DateTime64(3, 'UTC')}
    GROUP BY e.visitor_id
)"""

# The person of a row `h` (with `visitor_id`, `click_id`) joined as `JOINS` does.
PERSON = "multiIf(c.c_person != '', c.c_person, a.a_person != '', a.a_person, h.visitor_id)"
JOINS = """LEFT ANY JOIN clicks AS c ON h.click_id = c.c_click
    LEFT ANY JOIN aliases AS a ON h.visitor_id = a.a_visitor"""


def ctes(stitch_from: datetime, stitch_to: datetime) -> tuple[str, dict[str, Any]]:
    """The `clicks, aliases` CTE text (no leading `WITH`) and its two bound parameters."""
    return CTES, {"stitch_from": stitch_from, "stitch_to": stitch_to}
