"""Passwords are hashed with argon2id, verified in constant time, rehashed when weaker."""

from __future__ import annotations

from argon2 import PasswordHasher

from app.auth import passwords


def test_hashes_are_argon2id_and_salted():
    first = passwords.hash_password("correct horse battery")
    second = passwords.hash_password("correct horse battery")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert "correct horse" not in first


def test_verify():
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse batterY")
    assert not passwords.verify_password(stored, "")
    assert not passwords.verify_password("not a hash", "correct horse battery")
    passwords.verify_nothing("anything")  # spends the time, answers nothing


def test_needs_rehash_when_parameters_are_weaker():
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery")
    assert passwords.verify_password(weak, "correct horse battery")
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.hash_password("correct horse battery"))
    assert passwords.needs_rehash("garbage")


def test_password_policy():
    assert passwords.password_problem("x" * 9) == "password must be at least 10 characters"
    assert passwords.password_problem("x" * 10) is None
    assert passwords.password_problem("x" * 2000) == "password must be at most 1024 characters"
