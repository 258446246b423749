"""Back-office pages for the catalog: an overview, a list per entity (with its "new" form and,
for partners, sites and links, CSV import) and an item page (every field, pause/activate/
archive, an edit form and the change history; for a creative or a placement, previews in
sandboxed frames: see app.web.preview).

Reads follow the catalog's access policy (`app.catalog.access`, as the JSON API does); only
admins and media buyers change anything, through `app.catalog.service` as the API does.
Form fields are read into model input by `app.web.catalog_forms`.

No `from __future__ import annotations`: the routes are built in a loop, and FastAPI must see
their dependency types as objects, not names.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from app.catalog import csv_import, service
from app.catalog import entities as cat
from app.catalog.access import EVERYONE, READERS, STAFF, visible_rows
from app.catalog.entities import STATUSES
from app.catalog.published import row_out
from app.catalog.snapshot import CatalogSnapshot
from app.http.deps import CatalogDep, Principal, RuntimeDep, StoreDep, require_page_roles
from app.store import audit
from app.web import catalog_forms as forms
from app.web import preview
from app.web.templating import PAGE_HEADERS, render

router = APIRouter(prefix="/admin/catalog", include_in_schema=False)

MAX_UPLOAD = 5_000_000  # bytes, as the API's import
_CODE_FIELDS = frozenset(
    {"snippet", "pixel", "url", "serve_url", "embed", "postback_secret", "html"}
)
# Fields that name another row: the plural it is in.
_REFS = {
    "advertiser_id": "advertisers",
    "partner": "partners",
    "channel": "channels",
    "campaign_id": "campaigns",
    "site_key": "sites",
    "placement_id": "placements",
    "creative_id": "creatives",
}


# -- what a page shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One value on a page: text, maybe a link, maybe shown as code."""

    text: str
    href: str = ""
    code: bool = False


@dataclass(frozen=True)
class View:
    """Who looks, at which catalog: what display helpers need to name and link rows."""

    principal: Principal
    snapshot: CatalogSnapshot
    base_url: str

    @property
    def staff(self) -> bool:
        return self.principal.role in STAFF

    def may_read(self, plural: str) -> bool:
        return self.principal.role in READERS[plural]


def _actor(principal: Principal) -> service.Actor:
    return service.Actor(principal.username, principal.role)


def _view(principal: Principal, cache: Any, runtime: Any) -> View:
    return View(principal, cache.snapshot, runtime.settings.base_url)


def item_url(plural: str, key: str) -> str:
    return f"/admin/catalog/{plural}/{quote(key, safe='')}"


def preview_url(creative_id: str) -> str:
    return f"{item_url('creatives', creative_id)}/preview"


def previews(plural: str, row: Any, view: View) -> list[preview.Frame]:
    """A creative's own preview; a placement's, one per creative it may show (at its size)."""
    if not view.may_read("creatives"):
        return []
    if plural == "creatives":
        return [preview.frame(row, preview_url(row.id))]
    if plural == "placements":
        size = (row.width, row.height)
        shown = preview.placement_creatives(row, view.snapshot)
        return [preview.frame(c, preview_url(c.id), size) for c in shown]
    return []


def _singular(plural: str) -> str:
    return service.ENTITIES[plural].kind.name


def _ref(view: View, plural: str, key: str) -> Cell:
    """A reference to another row: its name, linked when this reader may open it."""
    if not key:
        return Cell("—")
    row = view.snapshot.of(service.ENTITIES[plural].cls).get(key)
    if row is None or not view.may_read(plural):  # a partner sees campaign ids, not names
        return Cell(key)
    return Cell(f"{getattr(row, 'name', key)} ({key})", href=item_url(plural, key))


def _text(value: Any) -> str:
    if value is None or value in ("", [], {}):
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def _attr(name: str) -> Callable[[Any, View], Cell]:
    return lambda row, view: Cell(_text(getattr(row, name)))


def _refcol(name: str) -> Callable[[Any, View], Cell]:
    return lambda row, view: _ref(view, _REFS[name], getattr(row, name))


def _extra(name: str) -> Callable[[Any, View], Cell]:
    def cell(row: Any, view: View) -> Cell:
        plural = cat.kind_of(type(row)).table
        return Cell(row_out(plural, row, view.base_url)[name], code=True)

    return cell


def _owner(row: cat.Site, view: View) -> Cell:
    if row.partner:
        return _ref(view, "partners", row.partner)
    return _ref(view, "advertisers", row.advertiser_id)


def _dates(row: cat.Campaign, view: View) -> Cell:
    if not row.start_date and not row.end_date:
        return Cell("always")
    return Cell(f"{row.start_date or '…'} – {row.end_date or '…'}")


def _budget(row: cat.Campaign, view: View) -> Cell:
    return Cell(f"{row.budget} {row.currency}" if row.budget is not None else "—")


def _size(row: Any, view: View) -> Cell:
    return Cell(f"{row.width}×{row.height}" if row.width or row.height else "—")


def _goes_to(row: cat.Link, view: View) -> Cell:
    parts = []
    if row.landing_url:
        parts.append(row.landing_url)
    if row.variants:
        parts.append(f"split over {len(row.variants)} URLs")
    if row.rules:
        parts.append(f"{len(row.rules)} routing rule{'s' if len(row.rules) != 1 else ''}")
    return Cell("; ".join(parts) or "—")


Column = tuple[str, Callable[[Any, View], Cell]]
_STATUS: Column = ("Status", _attr("status"))
COLUMNS: dict[str, tuple[Column, ...]] = {
    "advertisers": (("Name", _attr("name")), _STATUS, ("Created", _attr("created_at"))),
    "partners": (
        ("Name", _attr("name")),
        ("Contact", lambda r, v: Cell(" ".join(filter(None, (r.contact_name, r.contact_email))))),
        _STATUS,
    ),
    "channels": (("Name", _attr("name")), ("Type", _attr("type")),
                 ("Tags", lambda r, v: Cell(", ".join(r.tags))), _STATUS),
    "campaigns": (("Name", _attr("name")), ("Advertiser", _refcol("advertiser_id")),
                  ("Dates", _dates), ("Budget", _budget), ("Goal", _attr("goal_event")), _STATUS),
    "sites": (("Name", _attr("name")), ("Owner", _owner), ("Domain", _attr("domain")),
              ("Channel", _refcol("channel")), _STATUS, ("Snippet", _extra("snippet"))),
    "placements": (("Name", _attr("name")), ("Site", _refcol("site_key")), ("Size", _size),
                   ("Campaigns", lambda r, v: Cell(str(len(r.campaign_ids)))), _STATUS,
                   ("Embed tag", _extra("embed"))),
    "creatives": (("Name", _attr("name")), ("Campaign", _refcol("campaign_id")),
                  ("Kind", _attr("kind")), ("Landing", _attr("landing_url")),
                  ("Weight", _attr("weight")), _STATUS),
    "links": (("Campaign", _refcol("campaign_id")), ("Site", _refcol("site_key")),
              ("Goes to", _goes_to), _STATUS, ("Tracked URL", _extra("url"))),
}  # fmt: skip


def _row_cells(plural: str, row: Any, view: View) -> list[Cell]:
    key = cat.key_of(row)
    first = Cell(key, href=item_url(plural, key), code=True)
    return [first, *(cell(row, view) for _, cell in COLUMNS[plural])]


_EXTRA_LABELS = {
    "url": "Tracked URL",
    "snippet": "Snippet (put it on every page of the site)",
    "pixel": "Impression pixel",
    "serve_url": "Serve URL",
    "embed": "Embed tag",
    "postback_secret": "Postback secret",
    "created_at": "Created",
    "updated_at": "Updated",
}


def _key_label(plural: str) -> str:
    return {"id": "ID", "site_key": "Site key", "code": "Code"}[service.ENTITIES[plural].kind.key]


def _labels(plural: str) -> dict[str, str]:
    return {f.name: f.label for f in forms.FIELDS[plural]}


def _rules_cells(rules: Sequence[Mapping[str, Any]]) -> list[Cell]:
    out = []
    for rule in rules:
        who = "; ".join(forms.describe_targeting(rule.get("targeting") or {})) or "everyone"
        if rule.get("variants"):
            target = " | ".join(f"{v['id']}: {v['url']} ×{v['weight']}" for v in rule["variants"])
        else:
            target = rule.get("landing_url", "")
        out.append(Cell(f"{rule.get('id', '')}: {who} ⇒ {target}"))
    return out


def _detail(name: str, value: Any, view: View) -> list[Cell]:
    if name in _REFS and isinstance(value, str):
        return [_ref(view, _REFS[name], value)]
    if name == "campaign_ids":
        return [_ref(view, "campaigns", key) for key in value] or [Cell("—")]
    if name == "targeting":
        return [Cell(line) for line in forms.describe_targeting(value)] or [Cell("everyone")]
    if name == "rules":
        return _rules_cells(value) or [Cell("—")]
    if name == "variants":
        return [Cell(f"{v['id']}: {v['url']} ×{v['weight']}") for v in value] or [Cell("—")]
    if name == "postback_secret" and not view.staff:
        return [Cell("(hidden)")]
    return [Cell(_text(value), code=name in _CODE_FIELDS and bool(value))]


def details(plural: str, row: Any, view: View) -> list[tuple[str, list[Cell]]]:
    """Every field of a row, and for sites, placements and links what to publish."""
    values = row_out(plural, row, view.base_url)
    labels = {**_labels(plural), **_EXTRA_LABELS}
    labels[service.ENTITIES[plural].kind.key] = _key_label(plural)
    out = []
    for name, value in values.items():
        label = labels.get(name) or name.replace("_", " ").capitalize()
        out.append((label, _detail(name, value, view)))
    return out


_NOT_DIFFED = frozenset({"updated_at", "created_at"})


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
            ) -> list[tuple[str, str, str]]:  # fmt: skip
    """(field, before, after) for each field an audit entry changed; a create lists the fields
    it set (empty ones left out)."""
    before, after = before or {}, after or {}
    out = []
    for name in sorted(set(before) | set(after)):
        if name in _NOT_DIFFED:
            continue
        old, new = before.get(name), after.get(name)
        if old == new or (not before and new in ("", None, [], {})):
            continue
        out.append((name, _short(old) if before else "", _short(new) if after else ""))
    return out


def _short(value: Any, limit: int = 300) -> str:
    text = _text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _choices(view: View, source: str) -> list[tuple[str, str]]:
    if source in forms.CHOICES:
        return forms.CHOICES[source]
    rows = view.snapshot.of(service.ENTITIES[source].cls)
    listed = []
    for key, row in rows.items():
        label = f"{getattr(row, 'name', key)} ({key})"
        if row.status != "active":
            label += f" · {row.status}"
        listed.append((row.status == "archived", label.casefold(), key, label))
    return [(key, label) for _, _, key, label in sorted(listed)]


def _form_context(
    plural: str, view: View, *, new: bool, values: forms.FormValues, errors: dict[str, str]
) -> dict[str, Any]:
    fields = forms.fields_for(plural, new=new)
    if not new and "rules" not in values:  # rules made through the API beyond regions
        fields = tuple(f for f in fields if f.kind != "rules")
    shown = {f.name for f in fields} | {name for name, _, _ in forms.TARGETING_FIELDS}
    general = [msg for name, msg in errors.items() if name not in shown]
    sources = {f.choices for f in fields if f.choices}
    sources |= {"devices", "os", "weekdays"}
    return {
        "fields": fields,
        "values": values,
        "errors": errors,
        "general_errors": general,
        "choices": {source: _choices(view, source) for source in sources},
        "targeting_fields": forms.TARGETING_FIELDS,
    }


# -- answering --------------------------------------------------------------------------------


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)


def _not_found(request: Request, view: View, plural: str, key: str) -> Response:
    return render(
        request,
        "catalog_missing.html",
        {"plural": plural, "singular": _singular(plural), "key": key},
        principal=view.principal,
        status_code=status.HTTP_404_NOT_FOUND,
    )


def _list_page(
    request: Request,
    plural: str,
    view: View,
    store: Any,
    *,
    state: str = "",
    values: forms.FormValues | None = None,
    errors: dict[str, str] | None = None,
    import_errors: Sequence[tuple[int, str, str]] = (),
    notice: str = "",
    status_code: int = 200,
) -> Response:
    keep = visible_rows(view.principal, plural, view.snapshot)
    rows = service.list_all(store, plural, lambda r: keep(r) and (not state or r.status == state))
    rules = service.ENTITIES[plural]
    context = {
        "plural": plural,
        "singular": _singular(plural),
        "state": state,
        "statuses": STATUSES,
        "headers": [rules.kind.key.replace("_", " ").capitalize()]
        + [c[0] for c in COLUMNS[plural]],
        "rows": [_row_cells(plural, row, view) for row in rows],
        "can_edit": view.staff,
        "importable": plural in csv_import.IMPORTABLE and view.staff,
        "import_columns": csv_import.COLUMNS.get(plural, ()),
        "import_errors": import_errors,
        "notice": notice,
    }
    if view.staff:
        form_values = values if values is not None else forms.blank(plural, rules.model_in)
        context |= _form_context(plural, view, new=True, values=form_values, errors=errors or {})
    return render(request, "catalog_list.html", context, principal=view.principal,
                  status_code=status_code)  # fmt: skip


def _item_page(
    request: Request,
    plural: str,
    view: View,
    store: Any,
    row: Any,
    *,
    values: forms.FormValues | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    key = cat.key_of(row)
    history = []
    if view.staff:  # as the API: the audit log is for staff
        entity = service.ENTITIES[plural].kind.name
        for entry in audit.history(store, entity=entity, entity_key=key):
            history.append({"entry": entry, "changes": changes(entry.before, entry.after)})
    context = {
        "plural": plural,
        "singular": _singular(plural),
        "key": key,
        "title": getattr(row, "name", "") or key,
        "row_status": row.status,
        "details": details(plural, row, view),
        "history": history,
        "can_edit": view.staff,
        "statuses": STATUSES,
        "notice": notice,
        "url": item_url(plural, key),
        "previews": previews(plural, row, view),
        "sandbox": preview.SANDBOX,
    }
    if view.staff:
        shown = values if values is not None else forms.values_of(plural, row)
        context |= _form_context(plural, view, new=False, values=shown, errors=errors or {})
        context["rules_locked"] = plural == "links" and "rules" not in shown
    return render(request, "catalog_item.html", context, principal=view.principal,
                  status_code=status_code)  # fmt: skip


def _model_errors(exc: Exception, lines: Mapping[str, list[int]]) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return forms.errors_from([(e["loc"], e["msg"]) for e in exc.errors()], lines)
    assert isinstance(exc, service.CatalogError)
    return forms.errors_from([(f, reason) for f, reason, _ in exc.errors], lines)


# -- form input -------------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, list[str]]:
    """The posted form's text fields (the role check has already read and kept it)."""
    form = await request.form()
    return {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}


async def _upload(request: Request) -> tuple[str, bytes] | None:
    """The uploaded `file` (name, at most MAX_UPLOAD + 1 bytes); None when none was chosen."""
    item = (await request.form()).get("file")
    if not isinstance(item, UploadFile) or not item.filename:
        return None
    return item.filename, await item.read(MAX_UPLOAD + 1)


FormDep = Annotated[dict[str, list[str]], Depends(_form)]
UploadDep = Annotated[tuple[str, bytes] | None, Depends(_upload)]
_NOTICES = {"created": "Created.", "saved": "Saved.", "status": "Status changed."}


def _csv_text(upload: tuple[str, bytes] | None) -> tuple[str, list[tuple[int, str, str]]]:
    if upload is None:
        return "", [(0, "file", "choose a CSV file to import")]
    _, raw = upload
    if len(raw) > MAX_UPLOAD:
        return "", [(0, "file", f"the file is larger than {MAX_UPLOAD // 1_000_000} MB")]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError:
        return "", [(0, "file", "the file must be UTF-8 (in Excel: Save as CSV UTF-8)")]


# -- routes -----------------------------------------------------------------------------------


@router.get("")
def overview(
    request: Request,
    principal: Annotated[Principal, Depends(require_page_roles(*EVERYONE))],
    cache: CatalogDep,
    runtime: RuntimeDep,
) -> Response:
    view = _view(principal, cache, runtime)
    entities = []
    for plural, rules in service.ENTITIES.items():
        if not view.may_read(plural):
            continue
        keep = visible_rows(principal, plural, view.snapshot)
        rows = [r for r in view.snapshot.of(rules.cls).values() if keep(r)]
        active = sum(1 for r in rows if r.status == "active")
        entities.append({"plural": plural, "count": len(rows), "active": active})
    return render(request, "catalog_index.html", {"entities": entities}, principal=principal)


def _routes(plural: str) -> None:
    rules = service.ENTITIES[plural]
    read = Depends(require_page_roles(*READERS[plural]))
    write = Depends(require_page_roles(*STAFF))

    def list_page(
        request: Request,
        principal: Annotated[Principal, read],
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
        status: str = "",
        imported: str = "",
    ) -> Response:
        state = status if status in STATUSES else ""
        notice = f"Imported {imported} rows." if imported.isdigit() else ""
        return _list_page(request, plural, _view(principal, cache, runtime), store,
                          state=state, notice=notice)  # fmt: skip

    def create(
        request: Request,
        principal: Annotated[Principal, write],
        form: FormDep,
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
    ) -> Response:
        view = _view(principal, cache, runtime)
        parsed = forms.parse(plural, form, new=True)
        if not parsed.errors:
            try:
                body = rules.model_in.model_validate(parsed.data)
                entity = service.create(store, plural, body, _actor(principal))
            except (ValidationError, service.CatalogError) as exc:
                parsed.errors = _model_errors(exc, parsed.lines)
        if parsed.errors:
            return _list_page(request, plural, view, store, values=parsed.values,
                              errors=parsed.errors, status_code=422)  # fmt: skip
        cache.refresh()  # this process's hit path sees it at once
        return _redirect(f"{item_url(plural, cat.key_of(entity))}?notice=created")

    def import_file(
        request: Request,
        principal: Annotated[Principal, write],
        upload: UploadDep,
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
    ) -> Response:
        text, errors = _csv_text(upload)
        created = 0
        if not errors:
            result = csv_import.import_csv(store, plural, text, _actor(principal))
            errors, created = result.errors, len(result.created)
        if errors:
            return _list_page(request, plural, _view(principal, cache, runtime), store,
                              import_errors=errors, status_code=422)  # fmt: skip
        cache.refresh()
        return _redirect(f"/admin/catalog/{plural}?" + urlencode({"imported": created}))

    def item_page(
        request: Request,
        key: str,
        principal: Annotated[Principal, read],
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
        notice: str = "",
    ) -> Response:
        view = _view(principal, cache, runtime)
        try:
            row = service.get(store, plural, key)
        except service.NotFound:
            return _not_found(request, view, plural, key)
        if not visible_rows(principal, plural, view.snapshot)(row):
            return _not_found(request, view, plural, key)  # as a key that does not exist
        return _item_page(request, plural, view, store, row, notice=_NOTICES.get(notice, ""))

    def _change(
        request: Request, key: str, principal: Principal, store: Any, cache: Any, runtime: Any,
        parsed: forms.Parsed, notice: str,
    ) -> Response:  # fmt: skip
        view = _view(principal, cache, runtime)
        try:
            row = service.get(store, plural, key)
        except service.NotFound:
            return _not_found(request, view, plural, key)
        if not parsed.errors:
            try:
                patch = rules.model_patch.model_validate(parsed.data)
                service.update(store, plural, key, patch, _actor(principal))
            except (ValidationError, service.CatalogError) as exc:
                parsed.errors = _model_errors(exc, parsed.lines)
        if parsed.errors:
            values = parsed.values if parsed.values else None
            return _item_page(request, plural, view, store, row, values=values,
                              errors=parsed.errors, status_code=422)  # fmt: skip
        cache.refresh()
        return _redirect(f"{item_url(plural, key)}?notice={notice}")

    def edit(
        request: Request,
        key: str,
        principal: Annotated[Principal, write],
        form: FormDep,
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
    ) -> Response:
        parsed = forms.parse(plural, form, new=False)
        return _change(request, key, principal, store, cache, runtime, parsed, "saved")

    def set_status(
        request: Request,
        key: str,
        principal: Annotated[Principal, write],
        form: FormDep,
        store: StoreDep,
        cache: CatalogDep,
        runtime: RuntimeDep,
    ) -> Response:
        parsed = forms.Parsed(data={"status": forms.first(form, "status")})
        return _change(request, key, principal, store, cache, runtime, parsed, "status")

    path = f"/{plural}"
    item = f"/{plural}/{{key}}"
    for func in (list_page, create, import_file, item_page, edit, set_status):
        func.__name__ = f"catalog_{func.__name__}_{plural}"
    router.add_api_route(path, list_page, methods=["GET"])
    router.add_api_route(path, create, methods=["POST"])
    if plural in csv_import.IMPORTABLE:  # before the item routes: "import" is no key
        router.add_api_route(f"{path}/import", import_file, methods=["POST"])
    router.add_api_route(item, item_page, methods=["GET"])
    router.add_api_route(item, edit, methods=["POST"])
    router.add_api_route(f"{item}/status", set_status, methods=["POST"])


for _plural in service.ENTITIES:
    _routes(_plural)


@router.get("/creatives/{key}/preview")
def creative_preview(
    request: Request,
    key: str,
    principal: Annotated[Principal, Depends(require_page_roles(*READERS["creatives"]))],
    store: StoreDep,
    cache: CatalogDep,
    runtime: RuntimeDep,
) -> Response:
    """The creative alone, sandboxed (app.web.preview), for the frames of the item pages."""
    try:
        row = service.get(store, "creatives", key)
    except service.NotFound:
        return _not_found(request, _view(principal, cache, runtime), "creatives", key)
    return preview.response(row)
