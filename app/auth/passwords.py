"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile), and the rule a
new password must pass (length, no control characters, not common, not the username)."""

from __future__ import annotations

import functools
import os
import string
import threading
import unicodedata
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; this bounds the work one request can ask for

_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4: about 0.1 s a hash here
# Each hash takes 64 MiB and a core for a moment: a burst of logins (the login form is
# public) queues here instead of taking the whole thread pool's worth of memory at once.
_slots = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))


MIN_DISTINCT = 5  # "aaaaaaaaaa", "ababababab", "1212121212" are no passwords
_MIN_USERNAME = 4  # a shorter username inside a password is no giveaway ("al" in "royal")
# Stripped from both ends before the list is asked again: "Password123!" is "password".
_AFFIXES = string.digits + string.punctuation
_MIN_BASE = 4


def _read_common() -> frozenset[str]:
    text = resources.files("app").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


COMMON = _read_common()


def _is_common(password: str) -> bool:
    """On the list as it is, without its spaces, or once digits and symbols added at either
    end are taken off (what people do to a common password to get it accepted)."""
    folded = password.casefold()
    squeezed = "".join(folded.split())
    base = squeezed.strip(_AFFIXES)
    return folded in COMMON or squeezed in COMMON or (len(base) >= _MIN_BASE and base in COMMON)


def _is_run(password: str) -> bool:
    """Each character one code point after (or before) the last: "abcdefghij", "9876543210"."""
    steps = {ord(b) - ord(a) for a, b in zip(password, password[1:], strict=False)}
    return steps in ({1}, {-1})


def password_problem(password: str, username: str = "") -> str | None:
    """Why `password` cannot be a new password (for the user `username`), or None. The reason
    never quotes the password."""
    if len(password) < MIN_LENGTH:
        return f"password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password must be at most {MAX_LENGTH} characters"
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in password):
        return "password must not contain control characters"
    if not password.strip():
        return "password must not be only spaces"
    if len(set(password.casefold())) < MIN_DISTINCT:
        return f"password must have at least {MIN_DISTINCT} different characters"
    if _is_run(password.casefold()):
        return "password must not be a run of characters such as abcdef or 12345"
    name = username.strip().casefold()
    if name and (name == password.casefold() or (
        len(name) >= _MIN_USERNAME and name in "".join(password.casefold().split())
    )):  # fmt: skip
        return "password must not contain the username"
    if _is_common(password):
        return "password is too common (on a list of leaked passwords, maybe with digits added)"
    return None


def hash_password(password: str) -> str:
    with _slots:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Constant-time check; False (never an exception) for a wrong password or a bad hash."""
    try:
        with _slots:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_nothing(password: str) -> None:
    """Spend a verification's time for a login whose username matched no user, so a miss
    takes as long as a wrong password (no telling which usernames exist)."""
    verify_password(_dummy_hash(), password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("adtrack: no such user")


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (rehash on login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
