"""The demo world: advertisers and their campaigns, partners of every channel type, their sites
and placements, and one tracked link per campaign × site × placement.

The spec is plain data; `ensure_in_store` creates what the store lacks (found again by name,
domain and placement on a later run, so re-running the demo reuses one world) and returns the
resolved `World` the traffic generator works on. The HTTP mode builds the same world through
the admin API (app.demo.http).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from app.catalog import entities as catalog
from app.catalog import rows as catalog_rows
from app.store.client import Store


@dataclass(frozen=True)
class ChannelTraits:
    """Typical behaviour of a channel type: click-through and click→order rates, bot share,
    how often a visitor comes back to the same site, and the UTM medium advertisers tag it with."""

    ctr: float
    cvr: float
    bots: float
    returning: float
    medium: str


CHANNELS: dict[str, ChannelTraits] = {
    "national_portal": ChannelTraits(0.0060, 0.024, 0.030, 0.45, "display"),
    "search": ChannelTraits(0.0270, 0.048, 0.050, 0.30, "cpc"),
    "community": ChannelTraits(0.0125, 0.028, 0.030, 0.60, "display"),
    "ecommerce": ChannelTraits(0.0160, 0.045, 0.025, 0.50, "cps"),
    "download": ChannelTraits(0.0180, 0.008, 0.080, 0.20, "display"),
    "game": ChannelTraits(0.0090, 0.015, 0.020, 0.55, "display"),
    "video": ChannelTraits(0.0055, 0.020, 0.025, 0.50, "display"),
    "literature": ChannelTraits(0.0085, 0.024, 0.030, 0.65, "display"),
    "campus": ChannelTraits(0.0140, 0.036, 0.010, 0.65, "display"),
    "internet_cafe": ChannelTraits(0.0200, 0.012, 0.005, 0.50, "cpc"),
    "local_portal": ChannelTraits(0.0110, 0.032, 0.020, 0.60, "display"),
}
OWNED_CHANNEL = "owned"  # the advertiser's own landing site


@dataclass(frozen=True)
class Placement:
    id: str
    share: float  # of the site's impressions
    ctr: float = 1.0  # relative to the channel's


@dataclass(frozen=True)
class GeoFocus:
    """A share of the audience that comes from one province (or one city of it)."""

    province: str
    share: float
    city: str = ""


@dataclass(frozen=True)
class SiteSpec:
    key: str
    name: str
    partner: str
    domain: str
    channel: str
    volume: float  # relative daily impressions
    mobile: float  # share of human visitors on phones (tablets take a little of the rest)
    placements: tuple[Placement, ...]
    pages: tuple[str, ...]
    focus: GeoFocus | None = None
    hours: str = "day"
    # Days (0-based) on which the partner's tracking code did not fire: an availability alert.
    outage: tuple[int, ...] = ()

    @property
    def traits(self) -> ChannelTraits:
        return CHANNELS[self.channel]


@dataclass(frozen=True)
class Creative:
    id: str
    ctr: float = 1.0


@dataclass(frozen=True)
class CampaignSpec:
    key: str
    name: str
    landing_path: str
    sites: tuple[str, ...]
    creatives: tuple[Creative, ...]
    weight: float = 1.0  # share of a placement's rotation
    cvr: float = 1.0
    active: tuple[float, float] = (0.0, 1.0)  # fraction of the period
    target: GeoFocus | None = None  # IP geo-targeting of the impressions


@dataclass(frozen=True)
class AdvertiserSpec:
    key: str
    name: str
    domain: str
    pages: tuple[str, ...]
    thanks_page: str
    order_prefix: str
    # "postback": the billing system confirms orders server to server; "beacon": the
    # thank-you page reports them. Refunds always come by postback.
    orders_via: str
    amounts: tuple[tuple[float, float], ...] = ()  # (price, weight); empty: log-normal basket
    events: tuple[tuple[str, float], ...] = ()  # custom events and their rate per session
    server_ua: str = "Apache-HttpClient/4.5.13 (Java/1.8.0_292)"
    server_ip: str = "47.92.14.25"
    # Home region of the advertiser's customers: outside it, its offers rarely convert.
    home: str = ""
    campaigns: tuple[CampaignSpec, ...] = ()


@dataclass(frozen=True)
class WorldSpec:
    advertisers: tuple[AdvertiserSpec, ...]
    sites: tuple[SiteSpec, ...]

    def site(self, key: str) -> SiteSpec:
        return next(s for s in self.sites if s.key == key)


_NM = "内蒙古自治区"
_HOHHOT = "呼和浩特市"
_BAOTOU = "包头市"

# The operator's national buy: portals, search and video, IP-targeted to its province.
_TARGETED = ("huaxia-home", "sousou", "kuying", "caoyuan", "qingcheng", "lucheng")

DEMO_WORLD = WorldSpec(
    advertisers=(
        AdvertiserSpec(
            key="operator",
            name="北方移动 内蒙古分公司",
            domain="m.nm.beifang-mobile.example.cn",
            pages=("/flow/detail", "/flow/compare", "/flow/faq", "/user/login", "/order/confirm"),
            thanks_page="/order/success",
            order_prefix="NM",
            orders_via="postback",
            amounts=((10, 22), (20, 24), (30, 18), (50, 14), (58, 7), (88, 8), (128, 5), (198, 2)),
            events=(("login", 0.22), ("signup", 0.07), ("activity_join", 0.06)),
            server_ua="Apache-HttpClient/4.5.13 (Java/1.8.0_292)",
            server_ip="111.56.4.20",
            home=_NM,
            campaigns=(
                CampaignSpec(
                    key="flow-autumn",
                    name="5G流量包 · 秋季促销",
                    landing_path="/act/5g-autumn",
                    sites=_TARGETED,
                    weight=0.12,
                    cvr=1.3,
                    creatives=(
                        Creative("5g-banner-728x90"),
                        Creative("5g-banner-300x250", 1.1),
                        Creative("5g-text-link", 0.8),
                    ),
                    target=GeoFocus(_NM, 0.9),
                ),
                CampaignSpec(
                    key="campus-card",
                    name="校园卡 · 开学季",
                    landing_path="/act/campus-card",
                    sites=("nd-campus", "caoyuan", "jisu-cafe"),
                    weight=0.5,
                    cvr=1.2,
                    creatives=(Creative("campus-banner-640x100", 1.1), Creative("campus-popup")),
                    active=(0.3, 1.0),
                    target=GeoFocus(_NM, 0.85),
                ),
                CampaignSpec(
                    key="broadband-local",
                    name="宽带融合套餐 · 青城鹿城",
                    landing_path="/act/broadband",
                    sites=("qingcheng", "lucheng", "jisu-cafe"),
                    weight=0.45,
                    cvr=0.9,
                    creatives=(Creative("bb-banner-960x90"), Creative("bb-column-text", 0.9)),
                ),
            ),
        ),
        AdvertiserSpec(
            key="shop",
            name="优品商城",
            domain="www.youpin-mall.example.com",
            pages=(
                "/item/10023",
                "/item/20871",
                "/item/31544",
                "/list/appliance",
                "/cart",
                "/checkout",
            ),
            thanks_page="/pay/success",
            order_prefix="YP",
            orders_via="beacon",
            events=(("login", 0.12), ("signup", 0.06), ("add_to_cart", 0.18)),
            server_ua="okhttp/4.10.0",
            server_ip="47.96.180.33",
            campaigns=(
                CampaignSpec(
                    key="singles-day",
                    name="双11预热 · 家电节",
                    landing_path="/topic/1111",
                    sites=("huaxia-home", "sousou", "huigou", "kuying", "dahua", "shucheng"),
                    weight=1.0,
                    cvr=1.0,
                    active=(0.45, 1.0),
                    creatives=(Creative("1111-banner-960x90"), Creative("1111-feed-card", 1.2)),
                ),
                CampaignSpec(
                    key="trade-in",
                    name="手机以旧换新",
                    landing_path="/topic/trade-in",
                    sites=("sousou", "huigou", "feisu", "xiaoyou", "huaxia-sports"),
                    weight=0.8,
                    cvr=0.9,
                    creatives=(Creative("tradein-banner-728x90"), Creative("tradein-text", 0.85)),
                ),
            ),
        ),
        AdvertiserSpec(
            key="reader",
            name="书香阅读 App",
            domain="m.shuxiang-read.example.cn",
            pages=("/book/8812", "/book/8812/ch/1", "/book/8812/ch/2", "/shelf", "/recharge"),
            thanks_page="/recharge/success",
            order_prefix="SX",
            orders_via="postback",
            amounts=((6, 20), (12, 22), (18, 10), (30, 24), (50, 12), (98, 8), (198, 4)),
            events=(("signup", 0.16), ("login", 0.10), ("activity_join", 0.04)),
            server_ua="Go-http-client/1.1",
            server_ip="121.40.88.7",
            campaigns=(
                CampaignSpec(
                    key="first-recharge",
                    name="新用户首充礼包",
                    landing_path="/act/first-recharge",
                    sites=("shucheng", "xiaoyou", "feisu", "kuying", "dahua"),
                    weight=0.9,
                    creatives=(Creative("read-banner-640x100"), Creative("read-chapter-end", 1.3)),
                ),
            ),
        ),
    ),
    sites=(
        SiteSpec(
            key="huaxia-home",
            name="华夏网 首页",
            partner="huaxia",
            domain="www.huaxia.example.cn",
            channel="national_portal",
            volume=22,
            mobile=0.62,
            placements=(
                Placement("home-banner", 0.35),
                Placement("news-column", 0.4, 1.15),
                Placement("sidebar", 0.25, 0.55),
            ),
            pages=("/", "/news/china", "/news/world", "/finance", "/ent"),
        ),
        SiteSpec(
            key="huaxia-sports",
            name="华夏网 体育频道",
            partner="huaxia",
            domain="sports.huaxia.example.cn",
            channel="national_portal",
            volume=8,
            mobile=0.7,
            placements=(
                Placement("channel-banner", 0.6),
                Placement("sidebar", 0.4, 0.6),
            ),
            pages=("/", "/cba", "/football", "/live"),
        ),
        SiteSpec(
            key="sousou",
            name="搜搜看 搜索",
            partner="sousoukan",
            domain="www.sousoukan.example.cn",
            channel="search",
            volume=7,
            mobile=0.58,
            placements=(
                Placement("results-top", 0.6, 1.3),
                Placement("results-right", 0.4, 0.6),
            ),
            pages=("/s?wd=5g", "/s?wd=phone", "/s?wd=novel", "/s?wd=broadband"),
        ),
        SiteSpec(
            key="caoyuan",
            name="草原论坛",
            partner="caoyuan-bbs",
            domain="bbs.caoyuan.example.cn",
            channel="community",
            volume=4,
            mobile=0.64,
            placements=(
                Placement("forum-top-banner", 0.45),
                Placement("thread-inline", 0.35, 1.3),
                Placement("sidebar", 0.2, 0.6),
            ),
            pages=("/forum-12-1.html", "/thread-88121-1-1.html", "/thread-90311-1-1.html"),
            focus=GeoFocus(_NM, 0.5),
        ),
        SiteSpec(
            key="dahua",
            name="大话社区",
            partner="dahua-club",
            domain="www.dahua-club.example.cn",
            channel="community",
            volume=6,
            mobile=0.66,
            placements=(
                Placement("forum-top-banner", 0.55),
                Placement("thread-inline", 0.45, 1.2),
            ),
            pages=("/", "/board/life", "/board/digital", "/post/661203"),
        ),
        SiteSpec(
            key="huigou",
            name="惠购导购",
            partner="huigou",
            domain="www.huigou.example.com",
            channel="ecommerce",
            volume=7,
            mobile=0.72,
            placements=(
                Placement("category-banner", 0.5),
                Placement("recommend-slot", 0.5, 1.25),
            ),
            pages=("/", "/cat/phone", "/cat/appliance", "/deals/today"),
        ),
        SiteSpec(
            key="feisu",
            name="飞速下载站",
            partner="feisu-down",
            domain="www.feisu-down.example.cn",
            channel="download",
            volume=8,
            mobile=0.22,
            placements=(
                Placement("download-button", 0.55, 1.5),
                Placement("home-banner", 0.45),
            ),
            pages=("/", "/soft/39211.html", "/soft/40177.html", "/game/10234.html"),
        ),
        SiteSpec(
            key="xiaoyou",
            name="小游戏大厅",
            partner="xiaoyou-game",
            domain="www.xiaoyou-game.example.cn",
            channel="game",
            volume=9,
            mobile=0.52,
            placements=(
                Placement("loading-screen", 0.6, 1.2),
                Placement("sidebar", 0.4, 0.6),
            ),
            pages=("/", "/play/2048", "/play/tank", "/rank"),
        ),
        SiteSpec(
            key="kuying",
            name="酷映视频",
            partner="kuying-video",
            domain="www.kuying-video.example.cn",
            channel="video",
            volume=13,
            mobile=0.72,
            placements=(
                Placement("pause-ad", 0.4, 1.2),
                Placement("pre-roll-banner", 0.35),
                Placement("sidebar", 0.25, 0.5),
            ),
            pages=("/", "/v/91823", "/v/77120", "/tv/2231", "/variety"),
        ),
        SiteSpec(
            key="shucheng",
            name="书城小说网",
            partner="shucheng-novel",
            domain="www.shucheng-novel.example.cn",
            channel="literature",
            volume=6,
            mobile=0.8,
            placements=(
                Placement("chapter-end", 0.65, 1.2),
                Placement("home-banner", 0.35),
            ),
            pages=("/", "/book/3321/ch/88", "/book/1290/ch/12", "/rank/week"),
        ),
        SiteSpec(
            key="nd-campus",
            name="内大校园网",
            partner="nd-campus",
            domain="bbs.nd-campus.example.edu.cn",
            channel="campus",
            volume=2,
            mobile=0.76,
            placements=(
                Placement("bbs-banner", 0.6),
                Placement("notice-column", 0.4, 1.2),
            ),
            pages=("/", "/notice/2291", "/forum/jobs", "/forum/market"),
            focus=GeoFocus(_NM, 0.85, _HOHHOT),
        ),
        SiteSpec(
            key="jisu-cafe",
            name="极速网咖联盟 客户端",
            partner="jisu-netbar",
            domain="client.jisu-netbar.example.cn",
            channel="internet_cafe",
            volume=1.5,
            mobile=0.02,
            placements=(
                Placement("client-popup", 0.6, 1.2),
                Placement("desktop-banner", 0.4),
            ),
            pages=("/popup", "/desktop", "/menu"),
            focus=GeoFocus(_NM, 0.85, _BAOTOU),
            hours="night",
        ),
        SiteSpec(
            key="qingcheng",
            name="青城在线",
            partner="qingcheng-online",
            domain="www.qingcheng-online.example.cn",
            channel="local_portal",
            volume=2.5,
            mobile=0.6,
            placements=(
                Placement("home-banner", 0.55),
                Placement("local-news-column", 0.45, 1.2),
            ),
            pages=("/", "/news/hohhot", "/life/house", "/jobs"),
            focus=GeoFocus(_NM, 0.8, _HOHHOT),
        ),
        SiteSpec(
            key="lucheng",
            name="鹿城信息港",
            partner="lucheng-info",
            domain="www.lucheng-info.example.cn",
            channel="local_portal",
            volume=1.5,
            mobile=0.55,
            placements=(
                Placement("home-banner", 0.6),
                Placement("local-news-column", 0.4, 1.2),
            ),
            pages=("/", "/news/baotou", "/bbs", "/life"),
            focus=GeoFocus(_NM, 0.8, _BAOTOU),
            outage=(17, 18),
        ),
    ),
)


# -- the resolved world ---------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """One tracked link: a campaign's creative on one placement of one site."""

    campaign: CampaignSpec
    advertiser: AdvertiserSpec
    site: SiteSpec
    placement: Placement
    creative: Creative
    campaign_id: str
    site_key: str
    code: str
    landing_url: str


@dataclass
class World:
    spec: WorldSpec
    advertiser_ids: dict[str, str] = field(default_factory=dict)  # spec key -> id
    secrets: dict[str, str] = field(default_factory=dict)  # spec key -> postback secret
    landing_keys: dict[str, str] = field(default_factory=dict)  # advertiser key -> site_key
    site_keys: dict[str, str] = field(default_factory=dict)  # site spec key -> site_key
    campaign_ids: dict[str, str] = field(default_factory=dict)  # campaign key -> id
    slots: list[Slot] = field(default_factory=list)

    @property
    def partners(self) -> list[str]:
        return sorted({s.partner for s in self.spec.sites})


def landing_url(
    advertiser: AdvertiserSpec, campaign: CampaignSpec, site: SiteSpec, creative: Creative
) -> str:
    """The campaign page, tagged with UTM parameters per partner as advertisers do."""
    query = urlencode(
        {
            "utm_source": site.partner,
            "utm_medium": site.traits.medium,
            "utm_campaign": campaign.key,
            "utm_content": creative.id,
        }
    )
    return f"https://{advertiser.domain}{campaign.landing_path}?{query}"


def slot_specs(
    spec: WorldSpec,
) -> Iterable[tuple[AdvertiserSpec, CampaignSpec, SiteSpec, Placement, Creative]]:
    """Every link of the world, in a fixed order; creatives rotate over the placements."""
    for advertiser in spec.advertisers:
        for campaign in advertiser.campaigns:
            index = 0
            for site_key in campaign.sites:
                site = spec.site(site_key)
                for placement in site.placements:
                    creative = campaign.creatives[index % len(campaign.creatives)]
                    index += 1
                    yield advertiser, campaign, site, placement, creative


# -- creating it ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogOps:
    """How a world gets created: directly in the store, or through the admin API."""

    advertisers: Callable[[], list[dict]]
    campaigns: Callable[[], list[dict]]
    sites: Callable[[], list[dict]]
    links: Callable[[], list[dict]]
    partners: Callable[[], list[dict]]
    new_partner: Callable[[str, str], dict]
    new_advertiser: Callable[[str], dict]
    new_campaign: Callable[[str, str], dict]
    # name, partner ("" for an advertiser's own site), domain, channel, advertiser id ("")
    new_site: Callable[[str, str, str, str, str], dict]
    new_link: Callable[[str, str, str, str, str], dict]


def ensure_world(ops: CatalogOps, spec: WorldSpec = DEMO_WORLD) -> World:
    """Create the parts of the world the catalog lacks; reuse the rest."""
    world = World(spec)
    advertisers = {a["name"]: a for a in ops.advertisers()}
    campaigns = {(c["advertiser_id"], c["name"]): c for c in ops.campaigns()}
    sites = {s["domain"]: s for s in ops.sites()}
    links = {(lk["campaign_id"], lk["site_key"], lk["placement_id"]): lk for lk in ops.links()}

    partners = {p["id"] for p in ops.partners()}
    for partner in sorted({s.partner for s in spec.sites} - partners):
        ops.new_partner(partner, partner)

    def site_key(name: str, partner: str, domain: str, channel: str, owner: str = "") -> str:
        site = sites.get(domain) or ops.new_site(name, partner, domain, channel, owner)
        sites[domain] = site
        return site["site_key"]

    for adv in spec.advertisers:
        row = advertisers.get(adv.name) or ops.new_advertiser(adv.name)
        world.advertiser_ids[adv.key] = row["id"]
        world.secrets[adv.key] = row["postback_secret"]
        world.landing_keys[adv.key] = site_key(
            f"{adv.name} 活动页", "", adv.domain, OWNED_CHANNEL, row["id"]
        )
        for cmp in adv.campaigns:
            found = campaigns.get((row["id"], cmp.name))
            world.campaign_ids[cmp.key] = (found or ops.new_campaign(cmp.name, row["id"]))["id"]
    for site in spec.sites:
        world.site_keys[site.key] = site_key(site.name, site.partner, site.domain, site.channel)
    for adv, cmp, site, placement, creative in slot_specs(spec):
        campaign_id = world.campaign_ids[cmp.key]
        key = world.site_keys[site.key]
        url = landing_url(adv, cmp, site, creative)
        link = links.get((campaign_id, key, placement.id)) or ops.new_link(
            campaign_id, key, url, placement.id, creative.id
        )
        world.slots.append(
            Slot(
                cmp,
                adv,
                site,
                placement,
                creative,
                campaign_id,
                key,
                link["code"],
                link["landing_url"],
            )
        )
    return world


def store_ops(store: Store) -> CatalogOps:
    def saved(entity: catalog.Entity) -> dict:
        return catalog_rows.save(store, entity).__dict__

    def rows(kind: type) -> Callable[[], list[dict]]:
        return lambda: [e.__dict__ for e in catalog_rows.load_all(store, kind)]

    return CatalogOps(
        advertisers=rows(catalog.Advertiser),
        campaigns=rows(catalog.Campaign),
        sites=rows(catalog.Site),
        links=rows(catalog.Link),
        partners=rows(catalog.Partner),
        new_partner=lambda pid, name: saved(catalog.Partner(id=pid, name=name)),
        new_advertiser=lambda name: saved(catalog.new_advertiser(name)),
        new_campaign=lambda name, adv: saved(catalog.new_campaign(name, adv)),
        new_site=lambda name, partner, domain, channel, owner: saved(
            catalog.new_site(name, partner, domain, channel, advertiser_id=owner)
        ),
        new_link=lambda cmp, site, url, placement, creative: saved(
            catalog.new_link(cmp, site, url, placement_id=placement, creative_id=creative)
        ),
    )


def ensure_in_store(store: Store, spec: WorldSpec = DEMO_WORLD) -> World:
    return ensure_world(store_ops(store), spec)
