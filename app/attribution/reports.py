"""Every report the API and the CLI offer, in the order the CLI lists them: each declared
next to its query (`REPORT` at the bottom of its module, see `app.attribution.report`)."""

from __future__ import annotations

from app.attribution import (
    attribution,
    conversion_ranking,
    distribution,
    dropoff,
    engagement,
    funnel_report,
    pages,
    paths,
    ranking,
    ranking_history,
    referral,
    touchpoints,
    traffic,
)
from app.attribution.report import Report

REPORTS: tuple[Report, ...] = (
    funnel_report.REPORT,
    ranking.REPORT,
    ranking_history.REPORT,
    conversion_ranking.REPORT,
    paths.REPORT,
    pages.REPORT,
    dropoff.REPORT,
    engagement.REPORT,
    touchpoints.REPORT,
    referral.REPORT,
    referral.TREE_REPORT,
    attribution.REPORT,
    traffic.REPORT,
    distribution.REPORT,
)
