"""Referral (viral) analysis (/stats/referral, /stats/referral/tree): who brought whom
through shared links, how far it spread, who spread it most, and whether invited visitors
convert and stay.

The data (see app/tracker/static/t.js): a share link is any landing URL carrying
`adt_ref=<sharer id>`, the sharer id being the sharer's own landing-site visitor id;
`adtrack.share(medium)` makes one and records `event:share` with prop `medium`. A visit
opened from such a link stores the sharer in `events.referrer_id` (sql/0008_referral.sql).

Definitions (over the filter's events, bots left out unless asked for):
- edge: sharer → invitee, for each visitor id whose FIRST visit carrying a `referrer_id`
  other than its own id names that sharer, looked for over `history_days` (365) before the
  range start up to its end. One parent per invitee: a later visit through another
  sharer's link keeps the first parent. Self-referrals are never an edge. Edges are taken
  in time order and one that would close a cycle (the parent already descends from the
  invitee) is ignored, so the edges form a forest.
- invitees: visitors whose edge's time (their arrival) is in the range.
- sharers: distinct visitors with at least one share event in the range or at least one
  invitee in the range. Seeds: sharers without a parent.
- depth: the number of edges from an invitee up to its root (depth 1 = invited by a seed),
  walking parents over all the edges found; max_depth is the largest over the invitees.
- invites_per_sharer = invitees / sharers. Viral coefficient K = invites_per_sharer ×
  order_rate of the invitees (= invitees who ordered / sharers): converted users each
  sharer brings. k_active is the same with the invitees' active rate.
- top spreaders: by direct invites (invitees in the range whose parent they are) and by
  subtree size (invitees in the range anywhere below them).
- conversion of a group: ordered = an order (status approved or empty) by the same visitor
  id at or after arrival; active = any visit, event or order by the same visitor id 7 days
  or more after arrival. Neither stops at the range end (a report of a past month sees
  what its visitors did since; recent arrivals have not had 7 days yet). Referred: the
  invitees, arriving at their edge's time. Non-referred: visitors with a visit in the
  range who have no edge at all, arriving at their first visit in the range.

People are landing-site visitor ids here, not the partner-side persons of `stitch.py`: a
share link is opened on the advertiser's site, and the sharer is known by that id.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.attribution import orders as order_rule
from app.attribution.filters import Filter, FilterError, where
from app.attribution.report import Column, Param, Report
from app.store.client import Store

HISTORY_DAYS = 365
ACTIVE_AFTER_MS = 7 * 86_400_000
SHARE_EVENT = "share"
UNKNOWN_MEDIUM = "unknown"
_VISITOR = re.compile(r"^[A-Za-z0-9_.:-]{1,128}\Z")  # as app/tracker/fields.py accepts it


@dataclass
class Forest:
    """The invite edges as a forest: each invitee's parent and arrival time (epoch ms)."""

    parent: dict[str, str] = field(default_factory=dict)
    arrived: dict[str, int] = field(default_factory=dict)
    cycles: int = 0  # edges left out because they would close a cycle
    _depth: dict[str, int] = field(default_factory=dict, repr=False)

    def ancestors(self, visitor: str) -> Iterable[str]:
        node = self.parent.get(visitor)
        while node is not None:
            yield node
            node = self.parent.get(node)

    def depth(self, visitor: str) -> int:
        """0 for a visitor without a parent (a seed), else 1 + its parent's depth."""
        found = self._depth.get(visitor)
        if found is None:
            chain = [visitor]
            chain.extend(a for a in self.ancestors(visitor) if a not in self._depth)
            for node in reversed(chain):
                above = self.parent.get(node)
                self._depth[node] = 0 if above is None else self._depth[above] + 1
            found = self._depth[visitor]
        return found


def build_forest(edges: Iterable[tuple[str, str, int]]) -> Forest:
    """Edges (invitee, sharer, ms) in any order; taken by time, a cycle-closing one dropped."""
    forest = Forest()
    for invitee, sharer, ms in sorted(edges, key=lambda e: (e[2], e[0], e[1])):
        if invitee == sharer or invitee in forest.parent:
            continue
        if any(a == invitee for a in forest.ancestors(sharer)):
            forest.cycles += 1  # the sharer was brought, directly or not, by this invitee
            continue
        forest.parent[invitee] = sharer
        forest.arrived[invitee] = ms
    return forest


def _history(flt: Filter, history_days: int) -> Filter:
    if not 1 <= history_days <= 3660:
        raise FilterError("history_days must be 1 to 3660", "history_days")
    return dataclasses.replace(flt, start=flt.start - timedelta(days=history_days))


def build_queries(flt: Filter, history_days: int = HISTORY_DAYS) -> dict[str, tuple[str, dict]]:
    """The report's queries by name, each (sql, params); no store I/O."""
    condition, params = where(flt)
    wide, wide_params = where(_history(flt, history_days), visitor_as_of=flt.start)
    bots = "" if flt.include_bots else "AND is_bot = 0"
    ms = "toInt64(toUnixTimestamp64Milli(ts))"
    return {
        # invitee, sharer, ms of the invitee's first visit naming someone else
        "edges": (
            f"""
SELECT visitor_id, argMin(referrer_id, ts), min({ms})
FROM events
WHERE {wide} AND event_type = 'visit' AND visitor_id != ''
  AND referrer_id != '' AND referrer_id != visitor_id
GROUP BY visitor_id
""",  # noqa: S608 (fragments from filters.where; values are bound)
            wide_params,
        ),
        # visitor, ms of the first visit in the range
        "visitors": (
            f"""
SELECT visitor_id, min({ms})
FROM events
WHERE {condition} AND event_type = 'visit' AND visitor_id != ''
GROUP BY visitor_id
""",  # noqa: S608
            params,
        ),
        "shares": (
            f"""
SELECT visitor_id, props['medium'], count()
FROM events
WHERE {condition} AND event_type = 'event' AND event_name = {{share:String}}
  AND visitor_id != ''
GROUP BY visitor_id, props['medium']
""",  # noqa: S608
            {**params, "share": SHARE_EVENT},
        ),
        "self_referrals": (
            f"""
SELECT count() FROM events
WHERE {condition} AND event_type = 'visit' AND visitor_id != '' AND referrer_id = visitor_id
""",  # noqa: S608
            params,
        ),
        # Last activity and last order of each visitor seen in the range, to the present.
        "outcomes": (
            f"""
SELECT visitor_id,
       max({ms}),
       maxIf({ms}, {order_rule.COUNTED})
FROM {order_rule.EVENTS}
WHERE ts >= {{start:DateTime64(3, 'UTC')}} {bots}
  AND event_type IN ('visit', 'event', 'order')
  AND visitor_id IN (
      SELECT visitor_id FROM events
      WHERE {condition} AND event_type = 'visit' AND visitor_id != ''
  )
GROUP BY visitor_id
""",  # noqa: S608
            params,
        ),
    }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _conversion(arrivals: dict[str, int], outcomes: dict[str, tuple[int, int]]) -> dict[str, Any]:
    ordered = active = 0
    for visitor, arrived in arrivals.items():
        last_seen, last_order = outcomes.get(visitor, (0, 0))
        ordered += last_order >= arrived  # maxIf of nothing is 0: before any arrival
        active += last_seen >= arrived + ACTIVE_AFTER_MS
    n = len(arrivals)
    return {
        "visitors": n,
        "ordered": ordered,
        "order_rate": _rate(ordered, n),
        "active_7d": active,
        "active_rate": _rate(active, n),
    }


def _load(
    store: Store, flt: Filter, history_days: int
) -> tuple[Forest, dict[str, int], dict[str, Counter[str]], int, dict[str, tuple[int, int]]]:
    queries = build_queries(flt, history_days)
    forest = build_forest((str(v), str(s), int(t)) for v, s, t in store.query(*queries["edges"]))
    visitors = {str(v): int(t) for v, t in store.query(*queries["visitors"])}
    shares: dict[str, Counter[str]] = defaultdict(Counter)
    for visitor, medium, n in store.query(*queries["shares"]):
        shares[str(visitor)][str(medium) or UNKNOWN_MEDIUM] += int(n)
    selfish = int(store.query(*queries["self_referrals"])[0][0])
    outcomes = {str(v): (int(a), int(o)) for v, a, o in store.query(*queries["outcomes"])}
    return forest, visitors, shares, selfish, outcomes


def _ms_range(flt: Filter) -> tuple[int, int]:
    start, end = flt.utc_range()
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def referral_report(
    store: Store, flt: Filter, top: int = 20, *, history_days: int = HISTORY_DAYS
) -> dict[str, Any]:
    """The referral programme's figures for the filter's range (module docstring)."""
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 1000:
        raise FilterError("top must be 1 to 1000", "top")
    forest, visitors, shares, selfish, outcomes = _load(store, flt, history_days)
    start_ms, end_ms = _ms_range(flt)
    invitees = {v: ms for v, ms in forest.arrived.items() if start_ms <= ms < end_ms}
    direct: Counter[str] = Counter(forest.parent[v] for v in invitees)
    subtree: Counter[str] = Counter()
    depths: Counter[int] = Counter()
    for invitee in invitees:
        depths[forest.depth(invitee)] += 1
        subtree.update(forest.ancestors(invitee))
    sharers = set(shares) | set(direct)
    seeds = {s for s in sharers if s not in forest.parent}
    by_medium: Counter[str] = Counter()
    for media in shares.values():
        by_medium.update(media)
    referred = _conversion(invitees, outcomes)
    others = {v: ms for v, ms in visitors.items() if v not in forest.parent}
    per_sharer = _rate(len(invitees), len(sharers))

    def spreader(visitor: str) -> dict[str, Any]:
        return {
            "visitor_id": visitor,
            "direct_invites": direct[visitor],
            "subtree_size": subtree[visitor],
            "depth": forest.depth(visitor),
            "shares": sum(shares[visitor].values()) if visitor in shares else 0,
        }

    spreaders = list(subtree)  # every ancestor of an invitee in the range
    by_direct = sorted(
        (v for v in spreaders if direct[v]), key=lambda v: (-direct[v], -subtree[v], v)
    )
    by_subtree = sorted(spreaders, key=lambda v: (-subtree[v], -direct[v], v))
    return {
        "start": flt.start.isoformat(),
        "end": flt.end.isoformat(),
        "tz": flt.tz,
        "invitees": len(invitees),
        "sharers": len(sharers),
        "seeds": len(seeds),
        "shares": sum(by_medium.values()),
        "shares_by_medium": [
            {"medium": m, "shares": n}
            for m, n in sorted(by_medium.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "depths": [{"depth": d, "invitees": depths[d]} for d in sorted(depths)],
        "max_depth": max(depths, default=0),
        "invites_per_sharer": per_sharer,
        "viral_coefficient": None
        if per_sharer is None or referred["order_rate"] is None
        else per_sharer * referred["order_rate"],
        "viral_coefficient_active": None
        if per_sharer is None or referred["active_rate"] is None
        else per_sharer * referred["active_rate"],
        "top_by_invites": [spreader(v) for v in by_direct[:top]],
        "top_by_subtree": [spreader(v) for v in by_subtree[:top]],
        "referred": referred,
        "non_referred": _conversion(others, outcomes),
        "ignored": {"self_referrals": selfish, "cycles": forest.cycles},
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def invite_tree(
    store: Store,
    flt: Filter,
    root: str,
    max_nodes: int = 1000,
    *,
    history_days: int = HISTORY_DAYS,
) -> dict[str, Any]:
    """The subtree below one sharer, breadth first: every invitee with its parent, depth
    below `root` (1 = invited by it), arrival and whether that falls in the range. Edges are
    those found up to the range end (module docstring); at most `max_nodes` invitees."""
    if not isinstance(root, str) or not _VISITOR.match(root):
        raise FilterError("root must be a visitor id (1-128 of A-Z a-z 0-9 _ . : -)", "root")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise FilterError("max_nodes must be an integer", "max_nodes")
    if not 1 <= max_nodes <= 100_000:
        raise FilterError("max_nodes must be 1 to 100000", "max_nodes")
    edges_sql, params = build_queries(flt, history_days)["edges"]
    forest = build_forest((str(v), str(s), int(t)) for v, s, t in store.query(edges_sql, params))
    children: dict[str, list[str]] = defaultdict(list)
    for invitee, sharer in forest.parent.items():
        children[sharer].append(invitee)
    for kids in children.values():
        kids.sort(key=lambda v: (forest.arrived[v], v))
    start_ms, end_ms = _ms_range(flt)
    nodes: list[dict[str, Any]] = []
    level, depth, deepest, total = [root], 0, 0, 0
    while level:
        depth += 1
        level = [kid for sharer in level for kid in children.get(sharer, ())]
        total += len(level)
        deepest = depth if level else deepest
        for kid in level:
            if len(nodes) < max_nodes:
                ms = forest.arrived[kid]
                nodes.append(
                    {
                        "visitor_id": kid,
                        "parent": forest.parent[kid],
                        "depth": depth,
                        "arrived": _iso(ms),
                        "in_range": start_ms <= ms < end_ms,
                        "direct_invites": len(children.get(kid, ())),
                    }
                )
    return {
        "root": root,
        "root_parent": forest.parent.get(root),
        "size": total,
        "depth": deepest,
        "truncated": total > len(nodes),
        "nodes": nodes,
    }


SPREADER_COLUMNS = (
    Column("visitor_id", "Sharer", "text"),
    Column("direct_invites", "Direct invites"),
    Column("subtree_size", "Invitees below"),
    Column("depth", "Depth"),
    Column("shares", "Shares"),
)

REPORT = Report(
    name="referral",
    summary="Referral: invitees, sharers, depth, viral coefficient, …",
    counts=(
        "visits arriving with an invite in the range, their sharers and shares; orders: "
        "orders that count (approved, by their latest status)"
    ),
    run=referral_report,
    params=(Param("top", int, 20, ge=1, le=1000),),
    columns=SPREADER_COLUMNS,
    rows=lambda answer: list(answer["top_by_subtree"]),
    noun="sharers",
    headline=(
        Column("invitees", "Invitees"),
        Column("sharers", "Sharers"),
        Column("seeds", "Seeds"),
        Column("shares", "Shares"),
        Column("max_depth", "Deepest invite"),
        Column("invites_per_sharer", "Invites per sharer", "ratio", digits=3),
        Column("viral_coefficient", "Viral coefficient", "ratio", digits=3),
        Column(
            "referred.order_rate", "Order rate, referred", "percent", header="referred_order_rate"
        ),
        Column(
            "non_referred.order_rate",
            "Order rate, not referred",
            "percent",
            header="non_referred_order_rate",
        ),
        Column(
            "referred.active_rate",
            "Active after 7 days, referred",
            "percent",
            header="referred_active_rate",
        ),
    ),  # fmt: skip
)

TREE_REPORT = Report(
    name="referral-tree",
    path="referral/tree",
    summary="The invite tree below one sharer",
    counts="the visitors below the root sharer (its invitees, theirs, …), at most max_nodes",
    run=invite_tree,
    params=(
        Param("root", str, None, "the sharer's visitor id", required=True),
        Param("max_nodes", int, 1000, ge=1, le=100_000),
    ),
    columns=(
        Column("visitor_id", "Invitee", "text"),
        Column("parent", "Invited by", "text"),
        Column("depth", "Depth below the root"),
        Column("arrived", "Arrived", "text"),
        Column("in_range", "Arrived in the range", "text"),
        Column("direct_invites", "Direct invites"),
    ),
    rows=lambda answer: list(answer["nodes"]),
    noun="invitees",
)
