"""Geo enrichment: country, province and city of each hit's address (`app.geo.geolite`)."""

from __future__ import annotations

import pyarrow as pa

from app.geo.geolite import Geo, GeoResult
from app.ingest.enrich.columnar import distinct, put_answers
from app.ingest.enrich.pipeline import ColumnStep


def put_geo(geo: Geo) -> ColumnStep:
    """Column step: country_code, province and city from each hit's ip (looked up once per
    distinct address)."""
    lookup = geo.lookup

    # Named like the factory so tracebacks and reprs say which step this is.
    def put_geo(table: pa.Table) -> pa.Table:
        ips, rows = distinct(table["ip"])
        return put_answers(table, GeoResult._fields, [lookup(ip) for ip in ips], rows)

    return put_geo
