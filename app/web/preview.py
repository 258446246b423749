"""Creative previews for the back-office pages: a creative as a document of its own, shown
only in a sandboxed frame, never inside an admin page.

A creative's HTML is a media buyer's markup and may carry script. Opened with an admin's
session it would otherwise run with the tracker's origin: read the account API and write
with the admin's rights. The preview document is answered with `Content-Security-Policy:
sandbox` without `allow-same-origin` (an opaque origin, also when opened on its own), and
the pages frame it with the same `sandbox` attribute. Nothing is recorded: a preview is no
impression, its links go to the landing URL, not through a click URL.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from fastapi.responses import HTMLResponse

from app.catalog import entities as cat
from app.catalog.snapshot import CatalogSnapshot

# What an ad may do, and no more: run its script and open a landing page in a new tab. No
# allow-same-origin (with allow-scripts it would undo the sandbox), no forms, no navigating
# the admin's tab.
SANDBOX = "allow-scripts allow-popups allow-popups-to-escape-sandbox"
HEADERS = {
    "Content-Security-Policy": f"sandbox {SANDBOX}; frame-ancestors 'self'; base-uri 'none'",
    "X-Frame-Options": "SAMEORIGIN",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
MAX_SHOWN = 12  # creatives previewed on one placement's page
_DEFAULT_SIZE = (300, 250)


@dataclass(frozen=True)
class Frame:
    """One sandboxed frame on a page: what it shows and how large."""

    title: str
    src: str
    width: int
    height: int


def frame(creative: cat.Creative, src: str, size: tuple[int, int] = (0, 0)) -> Frame:
    width = size[0] or creative.width or _DEFAULT_SIZE[0]
    height = size[1] or creative.height or _DEFAULT_SIZE[1]
    return Frame(f"{creative.name} ({creative.id})", src, width, height)


def placement_creatives(placement: cat.Placement, snapshot: CatalogSnapshot) -> list[cat.Creative]:
    """The active creatives of the campaigns booked into a placement, as far as shown."""
    booked = set(placement.campaign_ids)
    rows = snapshot.of(cat.Creative).values()
    found = [c for c in rows if c.campaign_id in booked and c.status == "active"]
    return sorted(found, key=lambda c: (c.campaign_id, c.id))[:MAX_SHOWN]


def document(creative: cat.Creative) -> str:
    """The creative alone, as an <iframe> shows it on a partner's page."""
    link = f'<a href="{html.escape(creative.landing_url)}" target="_blank" rel="noopener">'
    if creative.kind == "html":
        inner = creative.html  # runs sandboxed (see HEADERS)
    elif creative.kind == "image":
        size = ""
        if creative.width and creative.height:
            size = f' width="{creative.width}" height="{creative.height}"'
        inner = (
            f'{link}<img src="{html.escape(creative.image_url)}"{size}'
            f' alt="{html.escape(creative.name)}" style="border:0"></a>'
        )
    else:
        inner = f"{link}{html.escape(creative.text)}</a>"
    return (
        "<!doctype html><html><head><meta charset=utf-8><style>body{margin:0}</style></head>"
        f"<body>{inner}</body></html>"
    )


def response(creative: cat.Creative) -> HTMLResponse:
    return HTMLResponse(document(creative), headers=HEADERS)
