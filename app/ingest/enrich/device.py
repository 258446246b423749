"""Device enrichment: browser, OS, device type and bot flag of each hit's user agent
(`app.geo.device`)."""

from __future__ import annotations

import pyarrow as pa

from app.geo.device import Device, DeviceParser
from app.ingest.enrich.columnar import distinct, put_answers
from app.ingest.enrich.pipeline import ColumnStep


def put_device(parser: DeviceParser) -> ColumnStep:
    """Column step: browser, OS, device type and bot flag, parsed once per distinct user
    agent."""
    parse = parser.parse

    # Named like the factory so tracebacks and reprs say which step this is.
    def put_device(table: pa.Table) -> pa.Table:
        agents, rows = distinct(table["user_agent"])
        return put_answers(table, Device._fields, [parse(ua) for ua in agents], rows)

    return put_device
