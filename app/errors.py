"""The one error a service raises when it refuses input after its shape was validated, so
that each face answers in its own way without knowing the service: the API a 422 naming the
field (app/serve/core_app.py), a page the form with the reason by the field, the CLI exit 2
with "field: reason"."""

from __future__ import annotations


class Refused(Exception):
    """(field, reason, kind) triples; kind is value_error, not_found, conflict,
    already_exists or a service's own (password_policy). A field may be dotted (rules.0.url)."""

    def __init__(self, errors: list[tuple[str, str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r, _ in errors))
        self.errors = errors

    @classmethod
    def one(cls, field: str, reason: str, kind: str = "value_error") -> Refused:
        return cls([(field, reason, kind)])
