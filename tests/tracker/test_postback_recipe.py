"""README's postback signing recipes, run as an advertiser would run them against a real server.

The oracle is the README, not `app.tracker.postback.sign` (the code the server verifies with):
the Python lines and the `openssl` line are copied here verbatim, checked to still be the
README's, and signed values are percent-encoded (a space, `&`, Chinese) with the hex sent in
upper case. One server for the module; each test reports its own order id.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.support.server import REPO, ServerProcess

# The README's Python recipe, less its example `params` line (the tests bring their own).
PYTHON_RECIPE = """\
import hashlib, hmac, urllib.parse
message = "&".join(f"{k}={params[k]}" for k in sorted(params))
params["sig"] = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
url = "https://TRACKER/postback?" + urllib.parse.urlencode(params)
"""
# The README's shell line: `msg` and `SECRET` come from the environment.
OPENSSL_LINE = """\
sig=$(printf '%s' "$msg" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)"""


def _postbacks_section() -> str:
    readme = (REPO / "README.md").read_text("utf-8")
    return readme.split("### Postbacks", 1)[1].split("\n### ", 1)[0]


def test_the_recipes_here_are_the_readmes() -> None:
    section = _postbacks_section()
    for line in [*PYTHON_RECIPE.splitlines(), OPENSSL_LINE]:
        assert line in section, f"README's postback recipe changed: update {line!r} here"


@pytest.fixture(scope="module")
def clicked(
    tmp_path_factory: pytest.TempPathFactory, geo_db: tuple[Path, dict]
) -> Iterator[tuple[ServerProcess, str, str]]:
    """(server, a click id from a real tracked-link click, the advertiser's postback secret)."""
    proc = ServerProcess(tmp_path_factory.mktemp("recipe"), {"ADTRACK_GEOIP_DB": str(geo_db[0])})
    server = proc.start()
    try:
        world = server.seed()
        with server.client() as http:
            location = http.get(f"/c/{world['link']['code']}").headers["location"]
        click_id = parse_qs(urlsplit(location).query)["adt_cid"][0]
        server.wait_events(1, event_type="click", click_id=click_id)
        yield server, click_id, world["advertiser"]["postback_secret"]
    finally:
        proc.stop()


def _python_recipe(params: dict[str, str], secret: str, recipe: str = PYTHON_RECIPE) -> str:
    """The query string README's Python lines make of `params`, the hex signature upper-cased."""
    scope: dict = {"params": dict(params), "SECRET": secret}
    exec(recipe, scope)  # noqa: S102 (our own constant: README's lines)
    signed = scope["params"]
    signed["sig"] = signed["sig"].upper()
    return scope["urllib"].parse.urlencode(signed)


def _openssl(msg: str, secret: str) -> str:
    """The signature README's `openssl` line prints for `msg`, upper-cased."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is not on PATH: apt-get install -y openssl (README's recipe uses it)")
    result = subprocess.run(
        ["bash", "-c", f'{OPENSSL_LINE}\nprintf "%s" "$sig"'],
        env={**os.environ, "msg": msg, "SECRET": secret},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert re.fullmatch(r"[0-9a-f]{64}", result.stdout), result
    return result.stdout.upper()


def _order(server: ServerProcess, order_id: str) -> dict:
    [order] = server.wait_events(1, event_type="order", order_id=order_id)
    return order


def test_the_python_recipe_signs_a_postback_the_server_accepts(clicked) -> None:
    server, click_id, secret = clicked
    params = {"cid": click_id, "oid": "SO 1001&订单", "amt": "128.50", "cur": "CNY",
              "status": "approved"}  # fmt: skip
    query = _python_recipe(params, secret)
    assert "oid=SO+1001%26%E8%AE%A2%E5%8D%95" in query  # what the server must decode
    assert re.search(r"sig=[0-9A-F]{64}$", query)
    with server.client() as http:
        answer = http.get(f"/postback?{query}")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["order_id"]) == ("accepted", "SO 1001&订单")
    order = _order(server, "SO 1001&订单")
    assert (order["click_id"], order["amount"], order["order_status"], order["order_source"]) == (
        click_id,
        "128.50",
        "approved",
        "postback",
    )


def test_the_python_recipe_changed_by_one_character_is_refused(clicked) -> None:
    server, click_id, secret = clicked
    params = {"cid": click_id, "oid": "SO 1002&订单", "amt": "9.90", "status": "approved"}
    semicolons = PYTHON_RECIPE.replace('"&".join', '";".join')
    assert semicolons != PYTHON_RECIPE
    with server.client() as http:
        answer = http.get(f"/postback?{_python_recipe(params, secret, semicolons)}")
    assert answer.status_code == 403
    assert (answer.json()["error"], answer.json()["field"]) == ("bad_signature", "sig")


def test_the_openssl_line_signs_a_postback_the_server_accepts(clicked) -> None:
    server, click_id, secret = clicked
    # Written out as README's `msg` is: names sorted, values decoded, joined with `&`.
    msg = f"amt=35.00&cid={click_id}&cur=CNY&oid=T 2002/批次&status=pending"
    sig = _openssl(msg, secret)
    # Sent with %20 for the space (the Python recipe sends `+`): both decode to the same.
    oid = quote("T 2002/批次", safe="")
    assert oid == "T%202002%2F%E6%89%B9%E6%AC%A1"
    query = f"cid={click_id}&oid={oid}&amt=35.00&cur=CNY&status=pending&sig={sig}"
    with server.client() as http:
        answer = http.get(f"/postback?{query}")
        tampered = http.get(f"/postback?{query.replace('amt=35.00', 'amt=35.01')}")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["order_status"]) == ("accepted", "pending")
    assert tampered.status_code == 403, tampered.text
    order = _order(server, "T 2002/批次")
    assert (order["click_id"], order["amount"], order["order_status"]) == (
        click_id,
        "35.00",
        "pending",
    )


def test_the_openssl_line_over_a_message_changed_by_one_character_is_refused(clicked) -> None:
    server, click_id, secret = clicked
    # `;` for the first `&`: what a signer that joined pairs wrongly would send.
    msg = f"amt=35.00;cid={click_id}&cur=CNY&oid=T 2003&status=approved"
    query = f"cid={click_id}&oid=T%202003&amt=35.00&cur=CNY&status=approved"
    with server.client() as http:
        answer = http.get(f"/postback?{query}&sig={_openssl(msg, secret)}")
    assert answer.status_code == 403
    assert (answer.json()["error"], answer.json()["field"]) == ("bad_signature", "sig")
    server.wait_drained()
    assert server.events(event_type="order", order_id="T 2003") == []
