"""Decisions per hit, from a catalog snapshot compiled once per refresh.

Links: a visitor outside the campaign's run or targeting, or the link's own targeting, goes
to the link's fallback URL (or the "not available" page); otherwise the most specific
matching routing rule serves (ties: the rule listed first), else the default landing. A
target is one URL or a weighted split, sticky per visitor. The decision names the rule and
variant that served, for the click row.

Placements: the creatives of the campaigns booked into the slot that are running, fit the
slot, and whose campaign and the placement target this visitor; one is drawn by weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from app.catalog.entities import Campaign, Creative, Link, Placement
from app.catalog.snapshot import CatalogSnapshot
from app.targeting.compile import Flight, Matcher, Visitor, compile_targeting, zone
from app.targeting.split import Weighted

# The rule names a click row can carry besides the user's own rule ids.
DEFAULT, FALLBACK, UNAVAILABLE, PAUSED = "default", "fallback", "unavailable", "paused"


class Decision(NamedTuple):
    url: str | None  # None: show the "not available in your region" page
    rule: str
    variant: str


@dataclass(frozen=True)
class Target:
    url: str = ""
    split: Weighted[tuple[str, str]] | None = None  # (variant id, url)

    def resolve(self, visitor_id: str, salt: str) -> tuple[str, str]:
        if self.split:
            return self.split.sticky(visitor_id, salt)
        return "", self.url


def _target(url: str, variants: list[dict[str, Any]]) -> Target:
    if variants:
        pairs = [((str(v["id"]), str(v["url"])), int(v.get("weight", 1))) for v in variants]
        return Target(split=Weighted.of(pairs))
    return Target(url=url)


def _flight(campaign: Campaign | None) -> Flight:
    if campaign is None:
        return Flight(active=False, start=None, end=None, tz=zone(""))
    return Flight(
        active=campaign.status == "active",
        start=campaign.start_date,
        end=campaign.end_date,
        tz=zone(campaign.timezone),
    )


@dataclass(frozen=True)
class LinkRoute:
    link: Link
    active: bool
    flight: Flight
    gates: tuple[Matcher, ...]  # campaign and link targeting: all must match
    rules: tuple[tuple[str, Matcher, Target], ...]
    default: Target
    fallback_url: str
    needs_visitor: bool

    def decide(self, visitor: Callable[[], Visitor], visitor_id: str, ts_ms: int) -> Decision:
        if not self.active or not self.flight.running(ts_ms):
            return Decision(self.fallback_url or None, PAUSED, "")
        who = visitor() if self.needs_visitor else Visitor()
        for gate in self.gates:
            if gate.match(who, ts_ms) is None:
                return Decision(self.fallback_url or None, FALLBACK if self.fallback_url
                                else UNAVAILABLE, "")  # fmt: skip
        best: tuple[int, str, Target] | None = None
        for rule_id, matcher, target in self.rules:
            fit = matcher.match(who, ts_ms)
            if fit is not None and (best is None or fit > best[0]):
                best = (fit, rule_id, target)
        rule, target = (best[1], best[2]) if best else (DEFAULT, self.default)
        variant, url = target.resolve(visitor_id, self.link.code)
        return Decision(url, rule, variant)


def compile_link(link: Link, campaign: Campaign | None) -> LinkRoute:
    tz = campaign.timezone if campaign else ""
    gates = tuple(
        m
        for m in (
            compile_targeting(campaign.targeting if campaign else None, tz),
            compile_targeting(link.targeting, tz),
        )
        if not m.is_empty
    )
    rules = tuple(
        (
            str(rule.get("id") or f"rule{i + 1}"),
            compile_targeting(rule.get("targeting"), tz),
            _target(str(rule.get("landing_url", "")), rule.get("variants") or []),
        )
        for i, rule in enumerate(link.rules)
    )
    return LinkRoute(
        link=link,
        active=link.status == "active",
        flight=_flight(campaign),
        gates=gates,
        rules=rules,
        default=_target(link.landing_url, link.variants),
        fallback_url=link.fallback_url,
        needs_visitor=any(g.needs_visitor for g in gates)
        or any(m.needs_visitor for _, m, _ in rules),
    )


@dataclass(frozen=True)
class Candidate:
    creative: Creative
    campaign: Campaign
    flight: Flight
    gate: Matcher


@dataclass(frozen=True)
class PlacementRoute:
    placement: Placement
    site_active: bool
    gate: Matcher  # the placement's own targeting
    candidates: tuple[Candidate, ...]
    needs_visitor: bool

    def eligible(self, visitor: Callable[[], Visitor], ts_ms: int) -> list[Candidate]:
        """Candidates for this visitor now, before frequency caps (the caller applies them,
        since they need the shared counter)."""
        if not self.site_active or self.placement.status != "active":
            return []
        who = visitor() if self.needs_visitor else Visitor()
        if self.gate.match(who, ts_ms) is None:
            return []
        return [
            c
            for c in self.candidates
            if c.flight.running(ts_ms) and c.gate.match(who, ts_ms) is not None
        ]


def _fits(creative: Creative, placement: Placement) -> bool:
    if not placement.width or not placement.height:
        return True  # a fluid slot takes any size
    return creative.kind == "text" or (
        creative.width == placement.width and creative.height == placement.height
    )


def compile_placement(placement: Placement, snapshot: CatalogSnapshot) -> PlacementRoute:
    site = snapshot.sites.get(placement.site_key)
    candidates = []
    for campaign_id in placement.campaign_ids:
        campaign = snapshot.campaigns.get(campaign_id)
        if campaign is None:
            continue
        gate = compile_targeting(campaign.targeting, campaign.timezone)
        flight = _flight(campaign)
        for creative in snapshot.creatives.values():
            if (
                creative.campaign_id == campaign_id
                and creative.status == "active"
                and creative.weight > 0
                and _fits(creative, placement)
            ):
                candidates.append(Candidate(creative, campaign, flight, gate))
    gate = compile_targeting(placement.targeting)
    return PlacementRoute(
        placement=placement,
        site_active=site is not None and site.status == "active",
        gate=gate,
        candidates=tuple(candidates),
        needs_visitor=gate.needs_visitor or any(c.gate.needs_visitor for c in candidates),
    )


@dataclass(frozen=True)
class Routing:
    """Every link and placement compiled for one snapshot version."""

    version: int
    links: dict[str, LinkRoute]
    placements: dict[str, PlacementRoute]


def compile_snapshot(snapshot: CatalogSnapshot) -> Routing:
    return Routing(
        version=snapshot.version,
        links={
            code: compile_link(link, snapshot.campaigns.get(link.campaign_id))
            for code, link in snapshot.links.items()
        },
        placements={pid: compile_placement(p, snapshot) for pid, p in snapshot.placements.items()},
    )
