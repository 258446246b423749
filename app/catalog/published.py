"""What a catalog row publishes, from the tracker's public base URL: a site's snippet and
pixel, a link's tracked URL, a placement's serve URL and embed tag."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.catalog import entities as cat


def site_out(site: cat.Site, base_url: str) -> dict[str, Any]:
    return {
        **asdict(site),
        "snippet": f'<script async src="{base_url}/t.js" data-site="{site.site_key}"></script>',
        "pixel": f"{base_url}/p.gif?s={site.site_key}&e=impression",
    }


def link_out(link: cat.Link, base_url: str) -> dict[str, Any]:
    return {**asdict(link), "url": f"{base_url}/c/{link.code}"}


# The embed frame's sandbox: a creative runs its script and opens its landing page (a new
# tab, or the partner's tab on a click), in an opaque origin. Never allow-same-origin: with
# allow-scripts it would let the creative lift the sandbox. The served document carries the
# same policy as a CSP header (app.tracker.ad_serving), for a page that frames it without this.
EMBED_SANDBOX = (
    "allow-scripts allow-popups allow-popups-to-escape-sandbox"
    " allow-top-navigation-by-user-activation"
)


def placement_out(placement: cat.Placement, base_url: str) -> dict[str, Any]:
    serve = f"{base_url}/serve/{placement.id}"
    size = ""
    if placement.width and placement.height:
        size = f' width="{placement.width}" height="{placement.height}"'
    return {
        **asdict(placement),
        "serve_url": serve,
        "embed": f'<iframe src="{serve}?format=html"{size} frameborder="0" scrolling="no"'
        f' sandbox="{EMBED_SANDBOX}"></iframe>',
    }


def row_out(plural: str, entity: Any, base_url: str) -> dict[str, Any]:
    """A row as the API answers it: its fields, plus what it publishes where it does."""
    extra = {"sites": site_out, "links": link_out, "placements": placement_out}.get(plural)
    return extra(entity, base_url) if extra else asdict(entity)
