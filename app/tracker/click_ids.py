"""Click ids the edge can verify without a look-up: `<prefix>-<random><MAC>`.

The prefix is the tracked link's code (or a served creative's id), so a postback names its
advertiser; the MAC (keyed BLAKE2b over prefix and random part, keyed with the deployment's
click secret) proves this tracker issued the id, so a signed postback cannot name a click
that never happened. The secret is made once in `<data dir>/click_secret` and shared by the
core and every edge worker (never per process: workers must agree).

Ids issued before the MAC (`<prefix>-<16 random characters>`) are `LEGACY`: the edge cannot
prove them, so the loader keeps such a postback only if it finds the click in the store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from enum import StrEnum
from pathlib import Path

CLICK_SECRET_FILE = "click_secret"  # noqa: S105 (a file name, not a secret)
_RANDOM_BYTES = 12  # 16 characters of base64url
_RANDOM_CHARS = 16
_MAC_BYTES = 12  # 96 bits: 16 characters of base64url
_MAC_CHARS = 16


class ClickIdKind(StrEnum):
    SIGNED = "signed"  # issued by this tracker: the MAC holds
    LEGACY = "legacy"  # the shape of an id issued before click ids carried a MAC
    FORGED = "forged"  # neither: not a click id of ours


def ensure_click_secret(data_dir: Path) -> bytes:
    """The deployment's click secret, generated once; several processes starting together
    agree on one (written privately, then linked into place: link() fails if it exists)."""
    path = data_dir / CLICK_SECRET_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{CLICK_SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    secret = path.read_text("utf-8").strip()
    if len(secret) < 32:
        raise ValueError(f"{path} holds no usable click secret")
    return secret.encode()


class ClickIds:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, body: str) -> str:
        digest = hashlib.blake2b(body.encode(), key=self._secret, digest_size=_MAC_BYTES)
        return base64.urlsafe_b64encode(digest.digest()).decode()

    def new(self, prefix: str) -> str:
        body = f"{prefix}-{secrets.token_urlsafe(_RANDOM_BYTES)}"
        return body + self._mac(body)

    def kind(self, click_id: str) -> ClickIdKind:
        prefix, sep, tail = click_id.partition("-")
        if not (prefix and sep):
            return ClickIdKind.FORGED
        if len(tail) == _RANDOM_CHARS + _MAC_CHARS:
            body, mac = click_id[:-_MAC_CHARS], click_id[-_MAC_CHARS:]
            if hmac.compare_digest(self._mac(body), mac):
                return ClickIdKind.SIGNED
            return ClickIdKind.FORGED
        if len(tail) == _RANDOM_CHARS:
            return ClickIdKind.LEGACY
        return ClickIdKind.FORGED
