"""Every report the API and the CLI offer, in the order the CLI lists them: each declared
next to its query (`REPORT` at the bottom of its module, see `app.attribution.report`)."""

from __future__ import annotations

from app.attribution import traffic
from app.attribution.report import Report

REPORTS: tuple[Report, ...] = (traffic.REPORT,)
