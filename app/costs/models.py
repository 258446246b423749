"""One row of spend as a CSV line or an API item: shared by both, so both accept and refuse
the same input."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

# Which columns a cost row may break spend down by; '' = not broken down by that one.
KEY_FIELDS = ("campaign_id", "channel", "partner_id", "site_key", "placement_id")
COLUMNS = ("day", *KEY_FIELDS, "spend", "currency")
REQUIRED = ("day", "spend")

Ref = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]
Currency = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[A-Z]{3}$"),
]


class CostIn(BaseModel):
    """Spend on one local calendar day (the advertiser's, as its report shows it)."""

    model_config = ConfigDict(extra="forbid")

    day: date
    campaign_id: Ref = ""
    channel: Ref = ""
    partner_id: Ref = ""
    site_key: Ref = ""
    placement_id: Ref = ""
    spend: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
    currency: Currency = Field("CNY", description="ISO 4217, three letters")

    def key(self) -> tuple[str, ...]:
        """The row's identity: a later row with the same key replaces this one."""
        return (self.day.isoformat(), *(getattr(self, f) for f in KEY_FIELDS))
