"""Click ids: issued with a MAC any process of the deployment can check, under one secret."""

from __future__ import annotations

import stat

from app.tracker.click_ids import ClickIdKind, ClickIds, ensure_click_secret
from app.tracker.postback import link_code_of


def test_an_issued_id_verifies_and_any_change_does_not(tmp_path):
    ids = ClickIds(ensure_click_secret(tmp_path))
    click_id = ids.new("Ab3dE9xQ")
    assert link_code_of(click_id) == "Ab3dE9xQ"
    assert ids.kind(click_id) == ClickIdKind.SIGNED
    # Another worker of the deployment reads the same secret and agrees.
    assert ClickIds(ensure_click_secret(tmp_path)).kind(click_id) == ClickIdKind.SIGNED
    tail = click_id.partition("-")[2]
    flipped = "A" if tail[3] != "A" else "B"
    assert ids.kind(f"Ab3dE9xQ-{tail[:3]}{flipped}{tail[4:]}") == ClickIdKind.FORGED
    assert ids.kind(f"OtherCde-{tail}") == ClickIdKind.FORGED  # the MAC covers the prefix
    assert ClickIds(b"x" * 64).kind(click_id) == ClickIdKind.FORGED  # another deployment
    assert ids.kind("Ab3dE9xQ-" + "a" * 16) == ClickIdKind.LEGACY
    for odd in ("", "nodash", "-" + "a" * 32, "Ab3dE9xQ-short"):
        assert ids.kind(odd) == ClickIdKind.FORGED, odd


def test_the_secret_is_made_once_and_private(tmp_path):
    first = ensure_click_secret(tmp_path)
    assert ensure_click_secret(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / "click_secret").stat().st_mode)
    assert mode == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["click_secret"]  # no temp file left
