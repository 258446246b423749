"""The catalog pages' forms: which fields each entity's form has, what a submitted form becomes
(the input of `app.catalog.models`), how stored values read back into a form, and which form
field an error belongs to. Pure functions: no store, no request."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from app.catalog.models import CHANNEL_TYPES, GOALS
from app.geo import regions
from app.targeting.spec import DEVICES, OS_FAMILIES

# A submitted form: every field name with all the values sent for it (checkboxes repeat); a
# single string counts as one value, so a form's own FormValues read back too.
FormData = Mapping[str, Sequence[str] | str]
# What a form shows: one string per field, a list of strings for checkbox groups.
FormValues = dict[str, Any]

TARGETING_PREFIX = "t_"
_LIST_SPLIT = re.compile(r"\s*[,，、;；\n]\s*")
_HOURS = re.compile(r"^(\d{1,2})(?::00)?\s*[-–~]\s*(\d{1,2})(?::00)?$")
_VALUE_ERROR = "Value error, "
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Field:
    """One field of an entity's form.

    kind: text, email, url, textarea, number, date, select (one of `choices`), checks (a
    checkbox per choice), list (comma-separated), datalist (free text with suggestions),
    targeting (the t_* fields), rules and variants (textareas, one item a line).
    `choices` names a reference (a plural: filled from the catalog) or a fixed list in CHOICES.
    """

    name: str
    label: str
    kind: str = "text"
    choices: str = ""
    required: bool = False
    new_only: bool = False  # set when the row is made, never edited
    help: str = ""
    step: str = ""


CHOICES: dict[str, list[tuple[str, str]]] = {
    "channel_types": [
        (t, f"{row['name_en']} · {row['name_zh']}") for t, row in CHANNEL_TYPES.items()
    ],
    "goals": [(g, g) for g in GOALS],
    "kinds": [("image", "image"), ("text", "text"), ("html", "html")],
    "devices": [(d, d) for d in DEVICES],
    "os": [(o, o) for o in OS_FAMILIES],
    "weekdays": [(str(i), day) for i, day in enumerate(WEEKDAYS, start=1)],
}

_RULES_HELP = (
    "One rule a line: regions => URL, e.g. 内蒙古, 呼和浩特 => https://shop.example.cn/nmg. "
    "A region with a leading - is excluded. A split inside a rule: URL weight | URL weight."
)
_VARIANTS_HELP = "An A/B split of the landing: one URL a line, with an optional weight (default 1)."

FIELDS: dict[str, tuple[Field, ...]] = {
    "advertisers": (Field("name", "Name", required=True),),
    "partners": (
        Field("id", "ID", required=True, new_only=True,
              help="a short name, e.g. nmg-portal: lower-case letters, digits, . _ -"),
        Field("name", "Name", required=True),
        Field("contact_name", "Contact name"),
        Field("contact_email", "Contact email", kind="email"),
    ),
    "channels": (
        Field("id", "ID", required=True, new_only=True, help="a short name, e.g. campus-bbs"),
        Field("name", "Name", required=True),
        Field("type", "Type", kind="select", choices="channel_types", required=True),
        Field("tags", "Tags", kind="list", help="comma-separated"),
    ),
    "campaigns": (
        Field("name", "Name", required=True),
        Field("advertiser_id", "Advertiser", kind="select", choices="advertisers",
              required=True, new_only=True),
        Field("start_date", "Start date", kind="date"),
        Field("end_date", "End date", kind="date"),
        Field("budget", "Budget", kind="number", step="0.01"),
        Field("currency", "Currency", help="ISO 4217, e.g. CNY"),
        Field("goal_event", "Goal", kind="select", choices="goals"),
        Field("timezone", "Time zone", help="IANA, e.g. Asia/Shanghai"),
        Field("frequency_cap", "Frequency cap", kind="number", step="1",
              help="impressions per visitor per day; 0 = no cap"),
        Field("targeting", "Targeting", kind="targeting"),
    ),
    "sites": (
        Field("name", "Name", required=True),
        Field("partner", "Partner", kind="select", choices="partners", new_only=True,
              help="the publisher who owns the site; or choose the advertiser below"),
        Field("advertiser_id", "Advertiser (its own site)", kind="select",
              choices="advertisers", new_only=True),
        Field("domain", "Domain", required=True, help="e.g. portal.example.cn"),
        Field("channel", "Channel", kind="select", choices="channels", required=True),
    ),
    "placements": (
        Field("site_key", "Site", kind="select", choices="sites", required=True, new_only=True),
        Field("name", "Name", required=True),
        Field("position", "Position", help="where on the page, e.g. home top banner"),
        Field("width", "Width (px)", kind="number", step="1"),
        Field("height", "Height (px)", kind="number", step="1"),
        Field("campaign_ids", "Campaigns booked", kind="checks", choices="campaigns"),
        Field("targeting", "Targeting", kind="targeting"),
    ),
    "creatives": (
        Field("campaign_id", "Campaign", kind="select", choices="campaigns", required=True,
              new_only=True),
        Field("name", "Name", required=True),
        Field("kind", "Kind", kind="select", choices="kinds", required=True, new_only=True),
        Field("landing_url", "Landing URL", kind="url", required=True),
        Field("image_url", "Image URL", kind="url", help="for an image creative"),
        Field("text", "Text", kind="textarea", help="for a text creative"),
        Field("html", "HTML", kind="textarea", help="for an html creative"),
        Field("width", "Width (px)", kind="number", step="1"),
        Field("height", "Height (px)", kind="number", step="1"),
        Field("weight", "Weight", kind="number", step="1",
              help="its share among the campaign's creatives"),
    ),
    "links": (
        Field("campaign_id", "Campaign", kind="select", choices="campaigns", required=True,
              new_only=True),
        Field("site_key", "Site", kind="select", choices="sites", required=True, new_only=True),
        Field("landing_url", "Landing URL", kind="url",
              help="where the link leads; may stay empty when a split is given"),
        Field("variants", "Split", kind="variants", help=_VARIANTS_HELP),
        Field("rules", "Routing rules", kind="rules", help=_RULES_HELP),
        Field("targeting", "Who may follow the link", kind="targeting"),
        Field("fallback_url", "Fallback URL", kind="url",
              help="for everyone the targeting leaves out; empty: a 'not available' page"),
        Field("placement_id", "Placement", kind="datalist", choices="placements",
              help="a placement id, or a free label such as home-banner"),
        Field("creative_id", "Creative", kind="datalist", choices="creatives",
              help="a creative id, or a free label such as banner-300x250"),
    ),
}  # fmt: skip

# The targeting fields: (form field, spec key, kind).
TARGETING_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("t_regions", "regions", "list"),
    ("t_exclude_regions", "exclude_regions", "list"),
    ("t_countries", "countries", "list"),
    ("t_exclude_countries", "exclude_countries", "list"),
    ("t_devices", "devices", "checks"),
    ("t_os", "os", "checks"),
    ("t_carriers", "carriers", "list"),
    ("t_weekdays", "weekdays", "checks"),
    ("t_hours", "hours", "hours"),
)
_TARGETING_FORM = {key: name for name, key, _ in TARGETING_FIELDS}
_EMPTY_BY_KIND = {"checks": [], "list": [], "hours": []}


@dataclass
class Parsed:
    """A submitted form read: `data` for the model, `errors` by form field ("" for the form as
    a whole), `lines` the textarea line of each rule and variant (for error messages), and
    `values` what the form shows again if it is refused."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)
    values: FormValues = field(default_factory=dict)

    def add_error(self, name: str, message: str) -> None:
        self.errors[name] = f"{self.errors[name]}; {message}" if name in self.errors else message


class LineError(ValueError):
    """A line of a textarea that cannot be read."""


def fields_for(plural: str, *, new: bool) -> tuple[Field, ...]:
    """The fields of the "new" form, or of the edit form (new_only ones left out)."""
    return tuple(f for f in FIELDS[plural] if new or not f.new_only)


# -- small readers ----------------------------------------------------------------------------


def _sent(form: FormData, name: str) -> list[str]:
    value = form.get(name)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def first(form: FormData, name: str, *, strip: bool = True) -> str:
    """A field's value (the last one sent), stripped; "" when absent."""
    values = _sent(form, name) or [""]
    return values[-1].strip() if strip else values[-1]


def _many(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in _sent(form, name) if v.strip()]


def split_list(text: str) -> list[str]:
    """'内蒙古, 呼和浩特，包头' → ['内蒙古', '呼和浩特', '包头']: commas (also full-width and
    、), semicolons or new lines between items; empty items dropped."""
    return [item for item in _LIST_SPLIT.split(text.strip()) if item]


def parse_hours(text: str) -> list[list[int]]:
    """'9-12, 14-18' → [[9, 12], [14, 18]] (start inclusive, end exclusive; the service checks
    the range). Raises ValueError naming the piece it cannot read."""
    windows = []
    for piece in split_list(text):
        match = _HOURS.match(piece)
        if not match:
            raise ValueError(f"{piece!r} is not an hour range like 9-12")
        windows.append([int(match.group(1)), int(match.group(2))])
    return windows


def _weight(token: str, line: int) -> int:
    if not token.isdigit():
        raise LineError(f"line {line}: the weight {token!r} is not a whole number")
    return int(token)


def _variant(text: str, line: int) -> dict[str, Any]:
    """'https://x/a 3' → {'url': 'https://x/a', 'weight': 3}; the weight is optional."""
    tokens = text.split()
    if not tokens:
        raise LineError(f"line {line}: a URL is missing")
    if len(tokens) > 2:
        raise LineError(f"line {line}: write a URL and an optional weight, e.g. https://… 3")
    variant: dict[str, Any] = {"url": tokens[0]}
    if len(tokens) == 2:
        variant["weight"] = _weight(tokens[1], line)
    return variant


def _lines(text: str) -> list[tuple[int, str]]:
    """The lines worth reading, numbered from 1: blank lines and # comments skipped."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((number, line))
    return out


def _variant_id(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"v{index + 1}"


def parse_variants(text: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The split textarea: one variant a line, `URL [weight]`. Returns the variants and the
    line each came from; raises LineError on the first line it cannot read."""
    items, numbers = [], []
    for number, line in _lines(text):
        # Ids as the service gives them (A, B, …): the model refuses several empty ids.
        items.append({"id": _variant_id(len(items)), **_variant(line, number)})
        numbers.append(number)
    return items, numbers


def parse_rule(line: str, number: int = 1) -> dict[str, Any]:
    """'内蒙古, -包头 => https://x/a' → {'targeting': {'regions': ['内蒙古'],
    'exclude_regions': ['包头']}, 'landing_url': 'https://x/a'}. The right side may be a
    split: 'https://x/a 3 | https://x/b 1'. Region names become codes in the service."""
    if "=>" not in line:
        raise LineError(f"line {number}: no '=>'; write regions => URL")
    left, _, right = line.partition("=>")
    included, excluded = [], []
    for ref in split_list(left):
        if ref.startswith("-"):
            if ref[1:].strip():
                excluded.append(ref[1:].strip())
        else:
            included.append(ref)
    if not included and not excluded:
        raise LineError(f"line {number}: name the regions before '=>'")
    targeting: dict[str, Any] = {}
    if included:
        targeting["regions"] = included
    if excluded:
        targeting["exclude_regions"] = excluded
    targets = [t.strip() for t in right.split("|")]
    if not any(targets):
        raise LineError(f"line {number}: a URL is missing after '=>'")
    if len(targets) == 1 and len(targets[0].split()) == 1:
        return {"targeting": targeting, "landing_url": targets[0]}
    return {"targeting": targeting, "variants": [_variant(t, number) for t in targets]}


def parse_rules(text: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The routing textarea, one rule a line (see `parse_rule`); the rules and their lines."""
    items, numbers = [], []
    for number, line in _lines(text):
        items.append({"id": f"rule{len(items) + 1}", **parse_rule(line, number)})
        numbers.append(number)
    return items, numbers


def parse_targeting(form: FormData, parsed: Parsed | None = None) -> dict[str, Any]:
    """The t_* fields as a targeting spec (names as typed: the service resolves regions).
    Fields it cannot read are reported in `parsed`."""
    spec: dict[str, Any] = {}
    for name, key, kind in TARGETING_FIELDS:
        if kind == "checks":
            values: list[Any] = _many(form, name)
            if key == "weekdays":
                values = [int(v) if v.isdigit() else v for v in values]
        elif kind == "hours":
            try:
                values = parse_hours(first(form, name))
            except ValueError as exc:
                if parsed is not None:
                    parsed.add_error(name, str(exc))
                continue
        else:
            values = split_list(first(form, name))
        if values:
            spec[key] = values
    return spec


# -- a whole form -----------------------------------------------------------------------------


def _shown(form: FormData, fields: Sequence[Field]) -> FormValues:
    values: FormValues = {}
    for f in fields:
        if f.kind == "targeting":
            for name, _, kind in TARGETING_FIELDS:
                values[name] = _many(form, name) if kind == "checks" else first(form, name)
        elif f.kind == "checks":
            values[f.name] = _many(form, f.name)
        elif f.kind in ("rules", "variants"):
            if f.name in form:  # as typed: error messages count its lines
                values[f.name] = first(form, f.name, strip=False)
        else:
            values[f.name] = first(form, f.name)
    return values


def parse(plural: str, form: FormData, *, new: bool) -> Parsed:
    """A submitted form as model input: for a new row (`new`, empty fields left out so the
    model's defaults apply) or an edit (every field of the edit form; an empty number, date or
    choice means "none" for budget and dates, "unchanged" elsewhere). The routing rules are
    edited only when the form has their textarea."""
    fields = fields_for(plural, new=new)
    parsed = Parsed(values=_shown(form, fields))
    for f in fields:
        text = first(form, f.name)
        if f.kind == "targeting":
            parsed.data[f.name] = parse_targeting(form, parsed)
        elif f.kind == "checks":
            parsed.data[f.name] = _many(form, f.name)
        elif f.kind == "list":
            parsed.data[f.name] = split_list(text)
        elif f.kind in ("rules", "variants"):
            if f.name not in form:
                continue
            reader = parse_rules if f.kind == "rules" else parse_variants
            try:
                raw = first(form, f.name, strip=False)  # lines counted as the user sees them
                parsed.data[f.name], parsed.lines[f.name] = reader(raw)
            except LineError as exc:
                parsed.add_error(f.name, str(exc))
        elif text:
            parsed.data[f.name] = text
        elif not new and f.required:
            parsed.add_error(f.name, "required")
        elif not new:
            blank = f.kind in ("number", "date", "select")
            parsed.data[f.name] = None if blank else ""
    if new:  # empty lists: the model's own default
        parsed.data = {k: v for k, v in parsed.data.items() if v not in ([], {})}
    return parsed


def blank(plural: str, model: type[BaseModel]) -> FormValues:
    """The "new" form's starting values: the model's defaults, e.g. currency CNY."""
    values: FormValues = {}
    for f in fields_for(plural, new=True):
        if f.kind == "targeting":
            values.update({n: [] if k == "checks" else "" for n, _, k in TARGETING_FIELDS})
            continue
        if f.kind == "checks":
            values[f.name] = []
            continue
        info = model.model_fields.get(f.name)
        default = info.default if info is not None and f.kind != "datalist" else None
        values[f.name] = str(default) if isinstance(default, str | int) else ""
    return values


# -- stored values back into a form -----------------------------------------------------------


def region_ref(code: str) -> str:
    """A stored region code as a form shows it, so that it reads back as the same code: the
    short name (内蒙古), else province/city (吉林/吉林), else the code itself."""
    division = regions.province(code) or regions.city(code)
    if division is None:
        return code
    province = regions.province(division.province_code)
    tries = [division.short_name]
    if province is not None and division.level == "city":
        tries.append(f"{province.short_name}/{division.short_name}")
    for text in tries:
        try:
            if regions.parse_region_ref(text).code == code:
                return text
        except regions.RegionRefError:
            continue
    return code


def region_label(code: str) -> str:
    """A stored region code for reading: '内蒙古自治区 · Inner Mongolia (150000)'."""
    division = regions.province(code) or regions.city(code)
    if division is None:
        return code
    return f"{division.name} · {division.name_en} ({code})"


def format_hours(windows: Sequence[Sequence[int]]) -> str:
    return ", ".join(f"{start}-{end}" for start, end in windows)


def targeting_values(spec: Mapping[str, Any]) -> FormValues:
    """A stored spec as the t_* fields."""
    values: FormValues = {}
    for name, key, kind in TARGETING_FIELDS:
        items = spec.get(key) or []
        if kind == "checks":
            values[name] = [str(v) for v in items]
        elif kind == "hours":
            values[name] = format_hours(items)
        elif key in ("regions", "exclude_regions"):
            values[name] = ", ".join(region_ref(code) for code in items)
        else:
            values[name] = ", ".join(str(v) for v in items)
    return values


def _format_variant(variant: Mapping[str, Any]) -> str:
    weight = variant.get("weight", 1)
    return variant["url"] if weight == 1 else f"{variant['url']} {weight}"


def format_variants(variants: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(_format_variant(v) for v in variants)


def format_rules(rules: Sequence[Mapping[str, Any]]) -> str | None:
    """Stored rules as the routing textarea; None when a rule targets more than regions (it
    was made through the API, and the textarea cannot say it)."""
    lines = []
    for rule in rules:
        spec = rule.get("targeting") or {}
        if set(spec) - {"regions", "exclude_regions"}:
            return None
        refs = [region_ref(c) for c in spec.get("regions", [])]
        refs += [f"-{region_ref(c)}" for c in spec.get("exclude_regions", [])]
        if rule.get("variants"):
            target = " | ".join(f"{v['url']} {v.get('weight', 1)}" for v in rule["variants"])
        else:
            target = rule.get("landing_url", "")
        lines.append(f"{', '.join(refs)} => {target}")
    return "\n".join(lines)


def values_of(plural: str, row: Any) -> FormValues:
    """A stored row as its edit form shows it."""
    values: FormValues = {}
    for f in fields_for(plural, new=False):
        value = getattr(row, f.name, "")
        if f.kind == "targeting":
            values.update(targeting_values(value or {}))
        elif f.kind == "checks":
            values[f.name] = [str(v) for v in value or []]
        elif f.kind == "list":
            values[f.name] = ", ".join(value or [])
        elif f.kind == "variants":
            values[f.name] = format_variants(value or [])
        elif f.kind == "rules":
            formatted = format_rules(value or [])
            if formatted is not None:
                values[f.name] = formatted
        else:
            values[f.name] = "" if value is None else str(value)
    return values


# -- errors back onto the form ----------------------------------------------------------------


def _path(loc: Sequence[Any] | str) -> list[Any]:
    parts = loc.split(".") if isinstance(loc, str) else list(loc)
    return [int(p) if isinstance(p, str) and p.isdigit() else p for p in parts]


def place_error(loc: Sequence[Any] | str, message: str, lines: Mapping[str, list[int]]
                ) -> tuple[str, str]:  # fmt: skip
    """The form field an error at `loc` (a pydantic loc, or a service field like
    'rules.0.targeting.regions.1') belongs to, and its message for the form: a rule's or
    variant's error names its textarea line, a targeting key its t_* field."""
    message = message.removeprefix(_VALUE_ERROR)
    path = _path(loc)
    if not path:
        return "", message
    head = str(path[0])
    rest = path[1:]
    if head == "targeting" and rest:
        return _TARGETING_FORM.get(str(rest[0]), "t_regions"), message
    if head in ("rules", "variants") and rest and isinstance(rest[0], int):
        numbers = lines.get(head, [])
        line = numbers[rest[0]] if rest[0] < len(numbers) else rest[0] + 1
        inner = [str(p) for p in rest[1:] if not isinstance(p, int)]
        where = f"{inner[-1]}: " if inner and inner[-1] not in ("targeting", "url") else ""
        return head, f"line {line}: {where}{message}"
    return head, message


def errors_from(
    items: Sequence[tuple[Sequence[Any] | str, str]], lines: Mapping[str, list[int]]
) -> dict[str, str]:
    """(loc, message) pairs as one message per form field ("" for the whole form)."""
    out: dict[str, str] = {}
    for loc, message in items:
        name, text = place_error(loc, message, lines)
        out[name] = f"{out[name]}; {text}" if name in out else text
    return out


# -- stored values for reading ----------------------------------------------------------------

_TARGETING_LABELS = {
    "countries": "Countries",
    "exclude_countries": "Not in countries",
    "regions": "Regions",
    "exclude_regions": "Not in regions",
    "devices": "Devices",
    "os": "OS",
    "carriers": "Carriers",
    "weekdays": "Weekdays",
    "hours": "Hours",
}


def describe_targeting(spec: Mapping[str, Any]) -> list[str]:
    """A spec as lines for people: regions with their names, weekdays by name; [] for
    "everyone"."""
    lines = []
    for key, label in _TARGETING_LABELS.items():
        items = spec.get(key) or []
        if not items:
            continue
        if key in ("regions", "exclude_regions"):
            text = ", ".join(region_label(code) for code in items)
        elif key == "weekdays":
            text = ", ".join(WEEKDAYS[d - 1] if 1 <= d <= 7 else str(d) for d in items)
        elif key == "hours":
            text = format_hours(items)
        else:
            text = ", ".join(str(v) for v in items)
        lines.append(f"{label}: {text}")
    return lines
