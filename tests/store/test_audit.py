"""The audit log keeps who/when/before/after for a change, with secrets redacted."""

from __future__ import annotations

from app.store import audit
from app.store.client import open_store
from app.store.migrate import migrate


def test_a_change_is_recorded_with_secrets_redacted(tmp_path):
    store = open_store(f"chdb://{tmp_path / 'ch'}")
    migrate(store)
    before = {"id": "adv_1", "name": "Old", "postback_secret": "s3cret"}
    after = {"id": "adv_1", "name": "New", "postback_secret": "s3cret"}
    audit.record(
        store, actor="alice", actor_role="media_buyer", entity="advertiser",
        entity_key="adv_1", action="update", before=before, after=after,
    )  # fmt: skip
    audit.record(
        store, actor="bob", actor_role="admin", entity="campaign",
        entity_key="cmp_1", action="create", before=None, after={"id": "cmp_1"},
    )  # fmt: skip
    [entry] = audit.history(store, entity="advertiser", entity_key="adv_1")
    assert (entry.actor, entry.actor_role, entry.action) == ("alice", "media_buyer", "update")
    assert entry.before == {"id": "adv_1", "name": "Old", "postback_secret": "<redacted>"}
    assert entry.after["name"] == "New"
    assert "s3cret" not in str(store.query("SELECT * FROM audit_log"))
    assert [e.entity for e in audit.history(store)] == ["campaign", "advertiser"]
    assert audit.history(store, entity="campaign")[0].before is None
    store.close()
