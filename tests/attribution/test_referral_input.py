"""The invite tree's root is a visitor id as the hit fields accept it: no trailing newline
(`$` matches before one, so "visitor-1\n" passed)."""

from __future__ import annotations

from datetime import date

import pytest

from app.attribution import referral
from app.attribution.filters import Filter, FilterError


def test_referral_root_refuses_a_trailing_newline():
    flt = Filter(date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(FilterError, match="root"):
        referral.invite_tree(None, flt, "visitor-1\n")  # refused before any query
