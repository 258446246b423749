"""Every catalog change goes through here: references checked, targeting normalised, ids
given, the row saved as a new version and the change written to the audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel

from app.catalog import entities as cat
from app.catalog import models as m
from app.catalog import rows as catalog_rows
from app.errors import Refused
from app.geo.regions import parse_region_ref
from app.store import audit
from app.store.client import Store
from app.targeting.spec import TargetingError, normalize


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit log names them."""

    name: str
    role: str


class CatalogError(Refused):
    """Catalog input refused after validation of its shape (kind value_error, not_found or
    conflict)."""


class NotFound(Exception):
    def __init__(self, entity: str, key: str) -> None:
        super().__init__(f"no {entity} {key!r}")
        self.entity = entity
        self.key = key


def _refuse(field: str, reason: str, kind: str = "value_error") -> CatalogError:
    return CatalogError([(field, reason, kind)])


def resolve_region(ref: str) -> str:
    """A region given by code or name (内蒙古, 呼和浩特, Hohhot, 150100) as its GB/T 2260
    code; raises ValueError saying why when it names no region or several."""
    return parse_region_ref(ref).code


def _targeting(spec: dict[str, Any] | None, where: str) -> dict[str, Any]:
    try:
        return normalize(spec or {}, resolve_region, where=f"{where}.")
    except TargetingError as exc:
        raise _refuse(exc.field, exc.reason) from None


def _exists(store: Store, cls: type, key: str, field: str, what: str) -> Any:
    found = catalog_rows.get(store, cls, key) if key else None
    if found is None:
        noun = "key" if cls is cat.Site else "id"
        raise _refuse(field, f"no {what} has this {noun}", "not_found")
    return found


# -- per entity: checks and construction ---------------------------------------------------


def _free_ids(given: set[str], make: Callable[[int], str]) -> Any:
    """Ids for the entries given without one: the first of make(0), make(1)… not taken."""
    n = 0
    while True:
        candidate = make(n)
        n += 1
        if candidate not in given:
            given.add(candidate)
            yield candidate


def _letter(n: int) -> str:
    return chr(ord("A") + n) if n < 26 else f"V{n + 1}"


def _variants(items: list[m.VariantIn] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [item if isinstance(item, dict) else item.model_dump() for item in items]
    fresh = _free_ids({v["id"] for v in rows if v["id"]}, _letter)
    return [{"id": v["id"] or next(fresh), "url": v["url"], "weight": v["weight"]} for v in rows]


def _rules(store: Store, rules: list[m.RuleIn]) -> list[dict[str, Any]]:
    out = []
    fresh = _free_ids({r.id for r in rules if r.id}, lambda n: f"rule{n + 1}")
    for i, rule in enumerate(rules):
        out.append(
            {
                "id": rule.id or next(fresh),
                "targeting": _targeting(rule.targeting, f"rules.{i}.targeting"),
                "landing_url": rule.landing_url,
                "variants": _variants(rule.variants),
            }
        )
    return out


def _check_site_refs(store: Store, partner: str, advertiser_id: str, channel: str) -> None:
    if partner:
        _exists(store, cat.Partner, partner, "partner", "partner")
    if advertiser_id:
        _exists(store, cat.Advertiser, advertiser_id, "advertiser_id", "advertiser")
    _exists(store, cat.Channel, channel, "channel", "channel")


def _check_link_refs(store: Store, link: cat.Link) -> None:
    _exists(store, cat.Campaign, link.campaign_id, "campaign_id", "campaign")
    _exists(store, cat.Site, link.site_key, "site_key", "site")
    # A link may name its slot and creative with free labels (e.g. home-banner) when they
    # are not managed here; an id of ours (pl_…, cr_…) must exist and fit the link.
    if link.placement_id.startswith("pl_"):
        placement = _exists(store, cat.Placement, link.placement_id, "placement_id", "placement")
        if placement.site_key != link.site_key:
            raise _refuse("placement_id", "the placement is on another site")
    if link.creative_id.startswith("cr_"):
        creative = _exists(store, cat.Creative, link.creative_id, "creative_id", "creative")
        if creative.campaign_id != link.campaign_id:
            raise _refuse("creative_id", "the creative belongs to another campaign")


def _check_placement_refs(store: Store, site_key: str, campaign_ids: list[str]) -> None:
    _exists(store, cat.Site, site_key, "site_key", "site")
    for i, campaign_id in enumerate(campaign_ids):
        _exists(store, cat.Campaign, campaign_id, f"campaign_ids.{i}", "campaign")


def _new(store: Store, plural: str, body: Any) -> cat.Entity:
    if plural == "advertisers":
        return cat.new_advertiser(body.name)
    if plural == "partners":
        if catalog_rows.get(store, cat.Partner, body.id) is not None:
            raise _refuse("id", "a partner has this id already", "conflict")
        return cat.Partner(**body.model_dump())
    if plural == "channels":
        if catalog_rows.get(store, cat.Channel, body.id) is not None:
            raise _refuse("id", "a channel has this id already", "conflict")
        return cat.Channel(**body.model_dump())
    if plural == "campaigns":
        _exists(store, cat.Advertiser, body.advertiser_id, "advertiser_id", "advertiser")
        fields = body.model_dump(exclude={"name", "advertiser_id"})
        fields["targeting"] = _targeting(body.targeting, "targeting")
        return cat.new_campaign(body.name, body.advertiser_id, **fields)
    if plural == "sites":
        _check_site_refs(store, body.partner, body.advertiser_id, body.channel)
        return cat.new_site(
            body.name, body.partner, body.domain, body.channel, advertiser_id=body.advertiser_id
        )
    if plural == "placements":
        campaign_ids = list(dict.fromkeys(body.campaign_ids))
        _check_placement_refs(store, body.site_key, campaign_ids)
        fields = body.model_dump(exclude={"site_key", "name", "campaign_ids", "targeting"})
        return cat.new_placement(
            body.site_key,
            body.name,
            campaign_ids=campaign_ids,
            targeting=_targeting(body.targeting, "targeting"),
            **fields,
        )
    if plural == "creatives":
        _exists(store, cat.Campaign, body.campaign_id, "campaign_id", "campaign")
        fields = body.model_dump(exclude={"campaign_id", "name", "kind", "landing_url"})
        return cat.new_creative(body.campaign_id, body.name, body.kind, body.landing_url, **fields)
    if plural == "links":
        link = cat.new_link(
            body.campaign_id,
            body.site_key,
            body.landing_url,
            placement_id=body.placement_id,
            creative_id=body.creative_id,
            variants=_variants(body.variants),
            rules=_rules(store, body.rules),
            targeting=_targeting(body.targeting, "targeting"),
            fallback_url=body.fallback_url,
        )
        _check_link_refs(store, link)
        return link
    raise KeyError(plural)


_NULLABLE = frozenset({"start_date", "end_date", "budget"})


def _patched(store: Store, plural: str, current: Any, patch: Any) -> Any:
    changes = patch.model_dump(exclude_unset=True)
    # null clears only the fields that may be empty; elsewhere it means "unchanged".
    changes = {k: v for k, v in changes.items() if v is not None or k in _NULLABLE}
    if "targeting" in changes:
        changes["targeting"] = _targeting(patch.targeting, "targeting")
    if plural == "links":
        if "variants" in changes:
            changes["variants"] = _variants(patch.variants)
        if "rules" in changes:
            changes["rules"] = _rules(store, patch.rules)
    updated = replace(current, **changes)
    dates = (updated.start_date, updated.end_date) if plural == "campaigns" else (None, None)
    if dates[0] and dates[1] and dates[1] < dates[0]:
        raise _refuse("end_date", "end_date is before start_date")
    if plural == "sites" and "channel" in changes:
        _exists(store, cat.Channel, updated.channel, "channel", "channel")
    if plural == "placements" and "campaign_ids" in changes:
        updated = replace(updated, campaign_ids=list(dict.fromkeys(updated.campaign_ids)))
        _check_placement_refs(store, updated.site_key, updated.campaign_ids)
    if plural == "links":
        if not updated.landing_url and not updated.variants:
            raise _refuse("landing_url", "a link needs landing_url or variants")
        _check_link_refs(store, updated)
    return updated


@dataclass(frozen=True)
class EntityRules:
    plural: str
    cls: type
    model_in: type[BaseModel]
    model_patch: type[BaseModel]

    @property
    def kind(self) -> cat.Kind:
        return cat.kind_of(self.cls)


ENTITIES: dict[str, EntityRules] = {
    e.plural: e
    for e in (
        EntityRules("advertisers", cat.Advertiser, m.AdvertiserIn, m.AdvertiserPatch),
        EntityRules("partners", cat.Partner, m.PartnerIn, m.PartnerPatch),
        EntityRules("channels", cat.Channel, m.ChannelIn, m.ChannelPatch),
        EntityRules("campaigns", cat.Campaign, m.CampaignIn, m.CampaignPatch),
        EntityRules("sites", cat.Site, m.SiteIn, m.SitePatch),
        EntityRules("placements", cat.Placement, m.PlacementIn, m.PlacementPatch),
        EntityRules("creatives", cat.Creative, m.CreativeIn, m.CreativePatch),
        EntityRules("links", cat.Link, m.LinkIn, m.LinkPatch),
    )
}


def _audit(store: Store, actor: Actor, rules: EntityRules, key: str, action: str,
           before: Any, after: Any) -> None:  # fmt: skip
    audit.record(
        store,
        actor=actor.name,
        actor_role=actor.role,
        entity=rules.kind.name,
        entity_key=key,
        action=action,
        before=cat.to_row(before) if before is not None else None,
        after=cat.to_row(after) if after is not None else None,
    )


def check_new(store: Store, plural: str, body: BaseModel) -> Any:
    """The entity `body` would create, checked against the catalog; nothing is saved."""
    return _new(store, plural, body)


def save_new(store: Store, plural: str, entity: Any, actor: Actor) -> Any:
    saved = catalog_rows.save(store, entity)
    _audit(store, actor, ENTITIES[plural], cat.key_of(saved), "create", None, saved)
    return saved


def create(store: Store, plural: str, body: BaseModel, actor: Actor) -> Any:
    return save_new(store, plural, check_new(store, plural, body), actor)


def update(store: Store, plural: str, key: str, patch: BaseModel, actor: Actor) -> Any:
    rules = ENTITIES[plural]
    current = catalog_rows.get(store, rules.cls, key)
    if current is None:
        raise NotFound(rules.kind.name, key)
    updated = _patched(store, plural, current, patch)
    saved = catalog_rows.save(store, updated)
    changed = patch.model_dump(exclude_unset=True)
    action = "update"
    if set(changed) == {"status"}:
        action = {"active": "activate", "paused": "pause", "archived": "archive"}[saved.status]
    _audit(store, actor, rules, key, action, current, saved)
    return saved


def get(store: Store, plural: str, key: str) -> Any:
    rules = ENTITIES[plural]
    found = catalog_rows.get(store, rules.cls, key)
    if found is None:
        raise NotFound(rules.kind.name, key)
    return found


def list_all(store: Store, plural: str, keep: Callable[[Any], bool] | None = None) -> list[Any]:
    rows = catalog_rows.load_all(store, ENTITIES[plural].cls)
    return [r for r in rows if keep is None or keep(r)]
