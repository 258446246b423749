"""The hit path's query parser agrees with urllib's on every input."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.tracker.query import parse_query


def _reference(raw: bytes) -> dict[str, str]:
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict"))


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30)), max_size=8))
def test_same_as_urllib_for_encoded_pairs(pairs):
    raw = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs).encode()
    assert parse_query(raw) == _reference(raw)


@given(st.text(alphabet="ab=&+%20c3A9;", max_size=40))
def test_same_as_urllib_on_odd_strings(text):
    raw = text.encode()
    try:
        expected = _reference(raw)
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            parse_query(raw)
        return
    assert parse_query(raw) == expected


def test_invalid_utf8_escapes_raise():
    with pytest.raises(UnicodeDecodeError):
        parse_query(b"url=%ff%fe")
    assert parse_query(b"a=1&a=2&b&c=x+y%21") == {"a": "2", "b": "", "c": "x y!"}
