"""Visitor journeys over the demo world, as spool records: impression → click → landing visit
→ pages and actions → order (→ refund), day by day, deterministic for a seed.

Records are what the edge would have spooled for the same hits (events column names plus
raw `ip` and `user_agent`), so the real loader enriches them; the HTTP mode turns the same
records back into requests. What shapes the numbers:

- volume per site, placement and campaign; a test phase at reduced spend, then budget shifted
  towards the placements that convert (the playbook's test → rank → shift);
- time of day (evening peak, local time UTC+8; internet cafés late at night) and weekday
  (Thursday best, Saturday worst, in volume and even more in conversion);
- CTR by channel, placement and creative; click→order by channel and campaign, and far lower
  outside the operator's home province (its plans are sold there only);
- one visitor id from impression to click (the partner page's, as the snippet tags tracked
  links with it); engaged landers sharing the page (`event:share` by medium) and friends
  arriving through those share links (`referrer_id`), who share in turn: an invite forest;
- visitors spread over provinces and cities, local sites and geo-targeted campaigns focused
  on Inner Mongolia; returning visitors on partner sites and on the landing site, with orders
  on a later day still carrying the click id within the attribution window;
- crawlers that only see impressions and crawl landing pages; one day of click spam on the
  download site; a two-day tracking outage at one local portal; and a few intended rejects:
  clicks on a retired badge (unknown_link), postbacks signed with an old secret
  (bad_signature), reloaded thank-you pages (orders the loader drops as duplicates).
"""

from __future__ import annotations

import base64
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from urllib.parse import urlencode

from app.catalog.links import landing_with_click
from app.demo.reference import (
    Block,
    Region,
    Weighted,
    read_networks,
    read_regions,
    read_user_agents,
    user_agents_by_device,
)
from app.demo.scenario import AdvertiserSpec, GeoFocus, Slot, World
from app.ingest.reasons import RejectReason
from app.ingest.record import Record, reject

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
LOCAL_OFFSET_MS = 8 * HOUR_MS  # China Standard Time, no daylight saving

# Relative traffic per local hour, 0..23.
# fmt: off
HOURS = {
    "day": (2.6, 1.6, 1.0, 0.7, 0.5, 0.6, 1.2, 2.4, 3.6, 4.2, 4.5, 4.6,
            5.2, 4.8, 4.4, 4.4, 4.5, 4.6, 5.0, 6.0, 7.2, 7.6, 6.8, 4.6),
    "night": (6.0, 5.0, 3.5, 2.0, 1.0, 0.6, 0.5, 0.6, 0.9, 1.5, 2.5, 3.5,
              4.2, 4.6, 4.8, 5.0, 5.2, 5.4, 5.8, 6.8, 7.6, 7.8, 7.6, 7.0),
}
# fmt: on
# Monday first.
WEEKDAY_VOLUME = (1.00, 1.02, 1.03, 1.08, 0.98, 0.84, 0.92)
WEEKDAY_CONVERSION = (1.00, 1.03, 1.06, 1.22, 0.96, 0.72, 0.86)

TEST_PHASE = 0.25  # share of the period spent testing at reduced spend
TEST_SPEND = 0.7
LAND_RATE = 0.87  # clicks whose landing page loads and reports
BOUNCE = 0.42  # landing sessions of one page
MORE_PAGES = 0.55  # chance of one more page after the second
RETURN_RATE = 0.16  # landers who come back on a later day
RETURN_DAYS = 10
ATTRIBUTION_DAYS = 7  # a return within this still carries the click id
LATER_ORDER = 0.2  # orders placed on a return visit
AWAY_FROM_HOME = 0.25  # conversion outside the advertiser's home province
REFUND_RATE = 0.04
RELOAD_RATE = 0.03  # thank-you page reloaded: the loader drops the repeated order
STALE_LINK_RATE = 0.003  # clicks on a badge whose link was retired
STALE_SECRET_RATE = 0.02  # postbacks also sent by a network still signing with an old secret
ORGANIC_SHARE = 0.12  # landing sessions without a click (shared links, direct), per landed click
SHARE_RATE = 0.08  # engaged landing sessions (two pages or more) that end in a share
REFERRED = 0.6  # organic sessions opened from a share link (adt_ref), once anyone has shared
SHARERS_MAX = 2000  # recent sharers remembered per advertiser
ORGANIC_ORDER = 0.015
CRAWLS_PER_DAY = 3.0  # crawler page views per landing site
FRAUD_SHARE = 0.0005  # click-spam clicks on the fraud day, per target event
POOL_MAX = 5000  # visitors remembered per site for returning visits
IPV6_SHARE = 0.2  # of mobile visitors, where their region has IPv6 networks

_SCREENS = {
    "mobile": Weighted(
        [
            ("390x844", 5),
            ("393x873", 4),
            ("414x896", 3),
            ("360x800", 4),
            ("412x915", 3),
            ("375x812", 2),
            ("360x780", 2),
        ]
    ),
    "tablet": Weighted([("810x1080", 3), ("820x1180", 3), ("768x1024", 2), ("800x1280", 2)]),
    "desktop": Weighted(
        [
            ("1920x1080", 10),
            ("1366x768", 5),
            ("1536x864", 4),
            ("1440x900", 3),
            ("2560x1440", 2),
            ("1600x900", 2),
            ("1280x1024", 1),
        ]
    ),
}
_LANGUAGES = Weighted([("zh-CN", 95), ("zh", 2), ("en-US", 2), ("zh-TW", 1)])
_SHARE_SOURCES = Weighted([("wechat", 45), ("qq", 25), ("weibo", 12), ("sms", 10), ("email", 8)])
_DWELL_MEDIAN_MS = 25_000
_BOUNCE_DWELL_MEDIAN_MS = 8_000


@dataclass(slots=True)
class Visitor:
    id: str
    ip: str
    ua: str
    device: str
    screen: str
    language: str
    province: str
    bot: bool = False


@dataclass
class Stats:
    by_type: Counter[str] = field(default_factory=Counter)
    rejects: Counter[str] = field(default_factory=Counter)
    postbacks: int = 0
    refunds: int = 0
    reloads: int = 0  # repeated thank-you-page orders, which the loader drops
    first_ms: int = 0
    last_ms: int = 0

    @property
    def events(self) -> int:
        return sum(self.by_type.values())


@dataclass(frozen=True)
class Plan:
    days: int
    events: int
    seed: int
    end_ms: int  # exclusive, UTC epoch ms

    @property
    def start_ms(self) -> int:
        """UTC ms of local midnight starting the first day; the last day is the end's."""
        local_midnight = (self.end_ms - 1 + LOCAL_OFFSET_MS) // DAY_MS * DAY_MS - LOCAL_OFFSET_MS
        return local_midnight - (self.days - 1) * DAY_MS

    def weekday(self, day: int) -> int:
        local = datetime.fromtimestamp((self.start_ms + LOCAL_OFFSET_MS) / 1000, UTC)
        return (local + timedelta(days=day)).weekday()

    @property
    def key(self) -> str:
        """Names the generated data: the seed and everything else it depends on."""
        return f"{self.seed}:{self.events}x{self.days}@{self.end_ms // HOUR_MS}"


def default_end_ms(now: datetime | None = None) -> int:
    """The end of the period: the start of the current hour, so a rerun within it is equal."""
    now = now or datetime.now(UTC)
    return int(now.timestamp()) // 3600 * HOUR_MS


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _below(rng: random.Random, n: int) -> int:
    """rng.randrange(n) at a third of the cost; exact enough for traffic."""
    return int(rng.random() * n)


def _token(rng: random.Random, nbytes: int = 12) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(nbytes)).decode()


class Traffic:
    """Generates the period day by day; `days()` yields each day's events and edge rejects."""

    def __init__(self, world: World, plan: Plan) -> None:
        self.world = world
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.stats = Stats()
        self._start = plan.start_ms
        self._end = plan.end_ms
        self._id_prefix = self.rng.getrandbits(64)
        self._id_counter = 0
        self._pending: dict[int, list[Record]] = defaultdict(list)
        self._pending_rejects: dict[int, list[Record]] = defaultdict(list)
        self._pools: dict[tuple[str, str], list[Visitor]] = defaultdict(list)
        self._order_ids: set[str] = set()
        self._landed: Counter[str] = Counter()  # per advertiser, today
        # Per advertiser: (sharer, medium) of recent shares, whose links bring friends.
        self._sharers: dict[str, list[tuple[Visitor, str]]] = defaultdict(list)
        # Sharing draws from its own stream: the rest of the traffic stays what it was.
        self._viral = random.Random(plan.seed * 7919 + 1)
        self._hours = {name: Weighted(enumerate(weights)) for name, weights in HOURS.items()}
        self._regions = read_regions()
        self._networks = read_networks()
        self._national = Weighted((r, r.weight) for r in self._regions)
        self._focused: dict[tuple[str, str], Weighted[Region]] = {}
        agents = read_user_agents()
        self._agents = user_agents_by_device(agents)
        self._prices = {a.key: Weighted(a.amounts) for a in world.spec.advertisers if a.amounts}
        self._test_days = max(1, round(TEST_PHASE * plan.days))
        self._stale_codes = [
            _token(self.rng, 6)[:8].replace("-", "x").replace("_", "y") for _ in range(3)
        ]
        self._fraud_day = plan.days // 2
        self._fraud_ips = [self._ip_in(("", "")) for _ in range(3)]
        self._budget = self._budget_factors()
        self._unit = self._calibrate()

    # -- volumes ---------------------------------------------------------------------------
    def _slot_ctr(self, slot: Slot) -> float:
        return slot.site.traits.ctr * slot.placement.ctr * slot.creative.ctr

    def _slot_cvr(self, slot: Slot) -> float:
        return slot.site.traits.cvr * slot.campaign.cvr

    def _budget_factors(self) -> dict[int, float]:
        """After the test phase each placement's spend follows its CTR × CVR within its
        campaign, clamped: the playbook's rank-and-shift."""
        scores = {i: self._slot_ctr(s) * self._slot_cvr(s) for i, s in enumerate(self.world.slots)}
        by_campaign: dict[str, list[float]] = defaultdict(list)
        for i, slot in enumerate(self.world.slots):
            by_campaign[slot.campaign.key].append(scores[i])
        means = {k: sum(v) / len(v) for k, v in by_campaign.items()}
        return {
            i: min(1.6, max(0.5, scores[i] / means[s.campaign.key]))
            for i, s in enumerate(self.world.slots)
        }

    def _active(self, slot: Slot, day: int) -> bool:
        start, end = slot.campaign.active
        first = math.floor(start * self.plan.days)
        return first <= day < max(math.ceil(end * self.plan.days), first + 1)

    def _weight(self, index: int, slot: Slot, day: int) -> float:
        """Expected impressions of a slot on a day, before the unit and the daily noise."""
        if not self._active(slot, day) or day in slot.site.outage:
            return 0.0
        trend = 0.95 + 0.1 * day / max(1, self.plan.days - 1)
        spend = TEST_SPEND if day < self._test_days else self._budget[index]
        return (
            slot.site.volume
            * slot.placement.share
            * slot.campaign.weight
            * spend
            * trend
            * WEEKDAY_VOLUME[self.plan.weekday(day)]
        )

    def _day_fraction(self, day: int, hours: str) -> float:
        """How much of the day's traffic falls before the end of the period."""
        day_end = self.plan.start_ms + (day + 1) * DAY_MS
        if day_end <= self.plan.end_ms:
            return 1.0
        elapsed_h = (self.plan.end_ms - (day_end - DAY_MS)) / HOUR_MS
        weights = HOURS[hours]
        whole = int(elapsed_h)
        part = sum(weights[:whole]) + (weights[whole] * (elapsed_h - whole) if whole < 24 else 0)
        return part / sum(weights)

    def _calibrate(self) -> float:
        """Impressions per unit of weight so the period comes out near the target count."""
        total_weight = 0.0
        clicks = 0.0
        for day in range(self.plan.days):
            for i, slot in enumerate(self.world.slots):
                w = self._weight(i, slot, day) * self._day_fraction(day, slot.site.hours)
                total_weight += w
                clicks += w * self._slot_ctr(slot) * (1 - slot.site.traits.bots)
        if total_weight == 0:
            return 0.0
        pages = BOUNCE + (1 - BOUNCE) * (2 + MORE_PAGES / (1 - MORE_PAGES))
        session = pages + (1 - BOUNCE) * 0.35
        per_click = 1 + LAND_RATE * session * (1 + RETURN_RATE * 0.7 + ORGANIC_SHARE) + 0.05
        rows_per_weight = 1 + clicks / total_weight * per_click
        return self.plan.events / rows_per_weight / total_weight

    # -- visitors --------------------------------------------------------------------------
    def _region(self, focus: GeoFocus | None) -> Region:
        rng = self.rng
        if focus is not None and rng.random() < focus.share:
            key = (focus.province, focus.city)
            picker = self._focused.get(key)
            if picker is None:
                picker = Weighted(
                    (r, r.weight)
                    for r in self._regions
                    if r.province == focus.province and (not focus.city or r.city == focus.city)
                )
                self._focused[key] = picker
            return picker.draw(rng)
        return self._national.draw(rng)

    def _ip_in(self, region: tuple[str, str], mobile: bool = False) -> str:
        networks = self._networks[region]
        blocks: tuple[Block, ...] = networks.v4
        if mobile and networks.v6 and self.rng.random() < IPV6_SHARE:
            blocks = networks.v6
        return blocks[_below(self.rng, len(blocks))].host(self.rng)

    def _new_visitor(self, focus: GeoFocus | None, mobile_share: float) -> Visitor:
        rng = self.rng
        region = self._region(focus)
        roll = rng.random()
        device = (
            "mobile"
            if roll < mobile_share
            else "tablet"
            if roll < mobile_share + (1 - mobile_share) * 0.08
            else "desktop"
        )
        agent = self._agents[device].draw(rng)
        return Visitor(
            id=_token(rng),
            ip=self._ip_in((region.province, region.city), device == "mobile"),
            ua=agent.ua,
            device=device,
            screen=_SCREENS[device].draw(rng),
            language=_LANGUAGES.draw(rng),
            province=region.province,
        )

    def _bot(self) -> Visitor:
        agent = self._agents["bot"].draw(self.rng)
        assert agent.origin is not None
        return Visitor(
            id="",
            ip=agent.origin.host(self.rng),
            ua=agent.ua,
            device="bot",
            screen="",
            language="",
            province="",
            bot=True,
        )

    def _visitor(self, slot: Slot) -> Visitor:
        rng = self.rng
        site = slot.site
        if rng.random() < site.traits.bots:
            return self._bot()
        target = slot.campaign.target
        pool = self._pools[(site.key, target.province if target else "")]
        if pool and rng.random() < site.traits.returning:
            return pool[_below(rng, len(pool))]
        visitor = self._new_visitor(target or site.focus, site.mobile)
        if len(pool) < POOL_MAX:
            pool.append(visitor)
        else:
            pool[_below(rng, POOL_MAX)] = visitor
        return visitor

    # -- emitting --------------------------------------------------------------------------
    def _emit(self, record: Record, visitor: Visitor | None = None) -> bool:
        """Stamp a record like the edge does and file it under its day; False past the end."""
        ts = record["ts"]
        if ts >= self._end:
            return False
        self._id_counter += 1
        record["event_id"] = f"{self._id_prefix:016x}{self._id_counter:016x}"
        if visitor is not None:
            record["ip"], record["user_agent"] = visitor.ip, visitor.ua
        self._pending[(ts - self._start) // DAY_MS].append(record)
        return True

    def _reject(self, record: Record, ts: int) -> None:
        if ts >= self._end:
            return
        record["ts"] = ts
        self._pending_rejects[(ts - self._start) // DAY_MS].append(record)

    def _hour_ts(self, day: int, hours: str = "day") -> int:
        hour = self._hours[hours].draw(self.rng)
        return self._start + day * DAY_MS + hour * HOUR_MS + _below(self.rng, HOUR_MS)

    # -- journeys --------------------------------------------------------------------------
    def _impression(self, slot: Slot, day: int, cvr_day: float) -> None:
        rng = self.rng
        ts = self._hour_ts(day, slot.site.hours)
        visitor = self._visitor(slot)
        pages = slot.site.pages
        page = f"https://{slot.site.domain}{pages[_below(rng, len(pages))]}"
        self._emit(
            {
                "event_type": "impression",
                "ts": ts,
                "site_key": slot.site_key,
                "campaign_id": slot.campaign_id,
                "placement_id": slot.placement.id,
                "creative_id": slot.creative.id,
                "visitor_id": visitor.id,  # the partner page's own id, as its snippet sends
                "url": page,
                "referrer": page,
            },
            visitor,
        )
        if not visitor.bot and rng.random() < self._slot_ctr(slot):
            self._click(slot, visitor, ts + 1500 + int(rng.expovariate(1 / 12_000)), page, cvr_day)

    def _click(self, slot: Slot, visitor: Visitor, ts: int, page: str, cvr_day: float) -> None:
        rng = self.rng
        if rng.random() < STALE_LINK_RATE:
            code = self._stale_codes[rng.randrange(len(self._stale_codes))]
            self._reject(
                reject(
                    RejectReason.UNKNOWN_LINK,
                    endpoint="/c",
                    field="code",
                    detail="no active link has this code",
                    raw=code,
                    ip=visitor.ip,
                    user_agent=visitor.ua,
                ),
                ts,
            )
            return
        click_id = f"{slot.code}-{_token(rng)}"
        entry = landing_with_click(slot.landing_url, click_id)
        self._emit(
            {
                "event_type": "click",
                "ts": ts,
                "site_key": slot.site_key,
                "campaign_id": slot.campaign_id,
                "placement_id": slot.placement.id,
                "creative_id": slot.creative.id,
                "link_code": slot.code,
                "click_id": click_id,
                "visitor_id": visitor.id,
                "url": entry,
                "referrer": page,
            },
            visitor,
        )
        advertiser = slot.advertiser
        cvr = self._slot_cvr(slot) * cvr_day
        if advertiser.home and visitor.province != advertiser.home:
            cvr *= AWAY_FROM_HOME
        orders = rng.random() < cvr
        later = orders and rng.random() < LATER_ORDER
        if not orders and rng.random() >= LAND_RATE:
            return
        self._landed[advertiser.key] += 1
        end = self._session(
            advertiser,
            visitor,
            ts + 300 + rng.randrange(2500),
            entry,
            page,
            click_id,
            slot,
            order=orders and not later,
        )
        if later or rng.random() < RETURN_RATE:
            days_later = 1 + rng.randrange(6 if later else RETURN_DAYS)
            day = (end - self.plan.start_ms) // DAY_MS + days_later
            cid = click_id if days_later <= ATTRIBUTION_DAYS else ""
            home = f"https://{advertiser.domain}/"
            self._session(advertiser, visitor, self._hour_ts(day), home, "", cid, slot, order=later)

    def _session(
        self,
        advertiser: AdvertiserSpec,
        visitor: Visitor,
        ts: int,
        entry: str,
        referrer: str,
        click_id: str,
        slot: Slot | None,
        order: bool,
        sharer: str = "",
    ) -> int:
        """One visit on the landing site: pages, custom events, maybe an order, maybe a share
        of the page (whose link may bring friends later). `sharer`: the visitor id of the
        share link it was opened from. Returns the time it ended."""
        rng = self.rng
        site_key = self.world.landing_keys[advertiser.key]
        session_id = _token(rng, 9)
        pages = 1 if rng.random() < BOUNCE and not order else 2
        while pages > 1 and rng.random() < MORE_PAGES and pages < 12:
            pages += 1
        base = {
            "site_key": site_key,
            "visitor_id": visitor.id,
            "session_id": session_id,
            "screen": visitor.screen,
            "language": visitor.language,
        }
        if click_id:
            base["click_id"] = click_id
        url, previous = entry, referrer
        pageview = ""
        for index in range(pages):
            median = _BOUNCE_DWELL_MEDIAN_MS if pages == 1 else _DWELL_MEDIAN_MS
            dwell = int(rng.lognormvariate(math.log(median), 0.9))
            pageview = _token(rng, 9)
            self._emit(
                {
                    "event_type": "visit",
                    "ts": ts,
                    **base,
                    "pageview_id": pageview,
                    "url": url,
                    "referrer": previous,
                    "duration_ms": min(dwell, 1_800_000),
                    **({"referrer_id": sharer} if sharer and index == 0 else {}),
                },
                visitor,
            )
            if index > 0 or pages > 1:
                for name, rate in advertiser.events:
                    if rng.random() < rate or (
                        order and name in ("login", "add_to_cart") and index == pages - 1
                    ):
                        self._emit(
                            {
                                "event_type": "event",
                                "event_name": name,
                                "ts": ts + rng.randrange(1000, max(1001, dwell)),
                                **base,
                                "pageview_id": pageview,
                                "url": url,
                            },
                            visitor,
                        )
            ts += dwell
            previous = url
            path = advertiser.pages[_below(rng, len(advertiser.pages))]
            url = f"https://{advertiser.domain}{path}"
        if pages > 1 and self._viral.random() < SHARE_RATE:
            self._share(advertiser, visitor, ts - 500, base, pageview, previous)
        if order:
            ts = self._order(advertiser, visitor, ts, base, previous, click_id, slot)
        return ts

    def _share(
        self, advertiser: AdvertiserSpec, visitor: Visitor, ts: int, base: Record,
        pageview: str, url: str,
    ) -> None:  # fmt: skip
        medium = _SHARE_SOURCES.draw(self._viral)
        self._emit(
            {
                "event_type": "event",
                "event_name": "share",
                "ts": ts,
                **base,
                "pageview_id": pageview,
                "url": url,
                "props": {"medium": medium},
            },
            visitor,
        )
        pool = self._sharers[advertiser.key]
        if len(pool) < SHARERS_MAX:
            pool.append((visitor, medium))
        else:
            pool[_below(self._viral, SHARERS_MAX)] = (visitor, medium)

    def _amount(self, advertiser: AdvertiserSpec) -> str:
        rng = self.rng
        prices = self._prices.get(advertiser.key)
        if prices is not None:
            return f"{prices.draw(rng):.2f}"
        basket = rng.lognormvariate(math.log(128), 0.75)
        return f"{max(9.9, min(1999.0, round(basket) - 0.1)):.2f}"

    def _order_id(self, advertiser: AdvertiserSpec, ts: int) -> str:
        day = datetime.fromtimestamp((ts + LOCAL_OFFSET_MS) / 1000, UTC).strftime("%Y%m%d")
        while True:
            order_id = f"{advertiser.order_prefix}{day}{self.rng.randrange(10**8):08d}"
            if order_id not in self._order_ids:
                self._order_ids.add(order_id)
                return order_id

    def _order(
        self,
        advertiser: AdvertiserSpec,
        visitor: Visitor,
        ts: int,
        base: Record,
        referrer: str,
        click_id: str,
        slot: Slot | None,
    ) -> int:
        rng = self.rng
        order_id = self._order_id(advertiser, ts)
        amount = self._amount(advertiser)
        thanks = f"https://{advertiser.domain}{advertiser.thanks_page}?order={order_id}"
        pageview = _token(rng, 9)
        self._emit(
            {
                "event_type": "visit",
                "ts": ts,
                **base,
                "pageview_id": pageview,
                "url": thanks,
                "referrer": referrer,
                "duration_ms": int(rng.lognormvariate(math.log(6000), 0.6)),
            },
            visitor,
        )
        via_postback = advertiser.orders_via == "postback" and slot is not None and click_id
        if not via_postback:
            order = {
                "event_type": "order",
                "ts": ts + 200,
                **base,
                "pageview_id": pageview,
                "url": thanks,
                "order_id": order_id,
                "amount": amount,
                "currency": "CNY",
                "order_status": "approved",
            }
            self._emit(order, visitor)
            if rng.random() < RELOAD_RATE and self._emit(
                {**order, "ts": ts + 3000 + rng.randrange(30_000)}, visitor
            ):
                self.stats.reloads += 1
        else:
            self._postback(
                advertiser,
                slot,
                click_id,
                order_id,
                amount,
                "approved",
                ts + 5000 + int(rng.expovariate(1 / 60_000)),
            )
        if slot is not None and click_id and rng.random() < REFUND_RATE:
            self._postback(
                advertiser,
                slot,
                click_id,
                order_id,
                amount,
                "refunded",
                ts + DAY_MS + rng.randrange(5 * DAY_MS),
            )
        return ts

    def _postback(
        self,
        advertiser: AdvertiserSpec,
        slot: Slot | None,
        click_id: str,
        order_id: str,
        amount: str,
        status: str,
        ts: int,
    ) -> None:
        assert slot is not None
        record: Record = {
            "event_type": "order",
            "ts": ts,
            "site_key": slot.site_key,
            "advertiser_id": self.world.advertiser_ids[advertiser.key],
            "campaign_id": slot.campaign_id,
            "placement_id": slot.placement.id,
            "creative_id": slot.creative.id,
            "link_code": slot.code,
            "click_id": click_id,
            "order_id": order_id,
            "order_status": status,
            "amount": amount,
            "currency": "CNY",
            "_src": "postback",
            "ip": advertiser.server_ip,
            "user_agent": advertiser.server_ua,
        }
        self._emit(record)
        if status == "approved" and self.rng.random() < STALE_SECRET_RATE:
            query = urlencode(
                {
                    "cid": click_id,
                    "oid": order_id,
                    "amt": amount,
                    "cur": "CNY",
                    "status": status,
                    "sig": self.rng.randbytes(32).hex(),
                }
            )
            self._reject(
                reject(
                    RejectReason.BAD_SIGNATURE,
                    endpoint="/postback",
                    field="sig",
                    detail="sig must be the hex HMAC-SHA256 of the other parameters",
                    raw=query,
                    ip=advertiser.server_ip,
                    user_agent=advertiser.server_ua,
                ),
                ts + 2000,
            )

    def _organic(self, advertiser: AdvertiserSpec, day: int) -> None:
        """Landing sessions from shared links and direct visits: no click, UTM of the share."""
        rng = self.rng
        home = GeoFocus(advertiser.home, 0.7) if advertiser.home else None
        for _ in range(poisson(rng, self._landed[advertiser.key] * ORGANIC_SHARE)):
            visitor = self._new_visitor(home, 0.8)
            source = _SHARE_SOURCES.draw(rng)
            sharers = self._sharers[advertiser.key]
            sharer = ""
            if sharers and self._viral.random() < REFERRED:  # a friend's link (adt_ref)
                friend, source = sharers[_below(self._viral, len(sharers))]
                sharer = friend.id
            entry = (
                f"https://{advertiser.domain}/?utm_source={source}&utm_medium=referral"
                f"&utm_campaign=invite" + (f"&adt_ref={sharer}" if sharer else "")
            )
            order = advertiser.orders_via == "beacon" and rng.random() < ORGANIC_ORDER
            self._session(
                advertiser, visitor, self._hour_ts(day), entry, "", "", None, order, sharer
            )

    def _crawls(self, advertiser: AdvertiserSpec, day: int) -> None:
        rng = self.rng
        site_key = self.world.landing_keys[advertiser.key]
        for _ in range(poisson(rng, CRAWLS_PER_DAY * self._unit_scale())):
            bot = self._bot()
            path = advertiser.pages[rng.randrange(len(advertiser.pages))]
            self._emit(
                {
                    "event_type": "visit",
                    "ts": self._hour_ts(day),
                    "site_key": site_key,
                    "url": f"https://{advertiser.domain}{path}",
                },
                bot,
            )

    def _unit_scale(self) -> float:
        # Crawls and click spam scale with the run's size, so small runs stay mostly human.
        return min(1.0, self.plan.events / 1_000_000) if self.plan.events else 0.0

    def _click_spam(self, day: int) -> None:
        """A burst of clicks on the download site's button from three addresses, at night."""
        rng = self.rng
        slots = [
            s for s in self.world.slots if s.site.channel == "download" and self._active(s, day)
        ]
        if not slots:
            return
        agent = self._agents["desktop"].items[0]
        start = self.plan.start_ms + day * DAY_MS + 2 * HOUR_MS
        for _ in range(max(3, round(self.plan.events * FRAUD_SHARE))):
            slot = slots[rng.randrange(len(slots))]
            ip = self._fraud_ips[rng.randrange(len(self._fraud_ips))]
            spammer = Visitor(
                id=_token(rng),
                ip=ip,
                ua=agent.ua,
                device="desktop",
                screen="1920x1080",
                language="zh-CN",
                province="",
            )
            click_id = f"{slot.code}-{_token(rng)}"
            self._emit(
                {
                    "event_type": "click",
                    "ts": start + rng.randrange(2 * HOUR_MS),
                    "site_key": slot.site_key,
                    "campaign_id": slot.campaign_id,
                    "placement_id": slot.placement.id,
                    "creative_id": slot.creative.id,
                    "link_code": slot.code,
                    "click_id": click_id,
                    "visitor_id": spammer.id,
                    "url": landing_with_click(slot.landing_url, click_id),
                    "referrer": f"https://{slot.site.domain}/",
                },
                spammer,
            )

    # -- the period ------------------------------------------------------------------------
    def day(self, day: int) -> tuple[list[Record], list[Record]]:
        rng = self.rng
        self._landed.clear()
        cvr_day = WEEKDAY_CONVERSION[self.plan.weekday(day)]
        noise: dict[str, float] = {}
        for index, slot in enumerate(self.world.slots):
            weight = self._weight(index, slot, day)
            if weight <= 0:
                continue
            site_noise = noise.setdefault(slot.site.key, max(0.5, rng.gauss(1.0, 0.08)))
            for _ in range(poisson(rng, weight * self._unit * site_noise)):
                self._impression(slot, day, cvr_day)
        for advertiser in self.world.spec.advertisers:
            self._organic(advertiser, day)
            self._crawls(advertiser, day)
        if day == self._fraud_day:
            self._click_spam(day)
        events = self._pending.pop(day, [])
        events.sort(key=itemgetter("ts"))
        rejects = self._pending_rejects.pop(day, [])
        for record in events:
            self.stats.by_type[record["event_type"]] += 1
            if record.get("_src") == "postback":
                self.stats.postbacks += 1
                if record["order_status"] == "refunded":
                    self.stats.refunds += 1
        for record in rejects:
            self.stats.rejects[record["reject"]] += 1
        if events:
            self.stats.first_ms = self.stats.first_ms or events[0]["ts"]
            self.stats.last_ms = events[-1]["ts"]
        return events, rejects

    def days(self) -> Iterator[tuple[list[Record], list[Record]]]:
        for day in range(self.plan.days):
            yield self.day(day)
