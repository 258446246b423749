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


def test_password_length():
    assert passwords.password_problem("Xy4#kq9!w") == "password must be at least 10 characters"
    assert passwords.password_problem("Xy4#kq9!wz") is None
    assert passwords.password_problem("Xy4#kq9!wz" * 200) == (
        "password must be at most 1024 characters"
    )


GOOD = [
    "correct horse battery",
    "Tr0ub4dor&3x",
    "内蒙古的草原很大很美",
    "a very particular password",
]
WEAK = [
    (" " * 10, "must not be only spaces"),
    ("\u3000" * 12, "must not be only spaces"),  # ideographic spaces
    ("\x00" * 10, "must not contain control characters"),
    ("good words\x00here", "must not contain control characters"),
    ("tab\tinside words", "must not contain control characters"),
    ("\ud800 lone surrogate", "must not contain control characters"),  # would 500 in argon2
    ("aaaaaaaaaaaa", "at least 5 different characters"),
    ("abababababab", "at least 5 different characters"),
    ("abcdefghijkl", "run of characters"),
    ("9876543210", "run of characters"),
    ("qwertyuiop", "too common"),
    ("Password123", "too common"),
    ("PASSWORD1234!", "too common"),  # a common one with digits and symbols added
    ("!!monkey2024", "too common"),
    ("1q2w3e4r5t", "too common"),
    ("iloveyou 12", "too common"),
]


def test_good_passwords_pass():
    for password in GOOD:
        assert passwords.password_problem(password, "someone") is None, password


def test_weak_passwords_are_refused_with_a_reason_that_never_quotes_them():
    for password, reason in WEAK:
        problem = passwords.password_problem(password)
        assert problem is not None and reason in problem, (password, problem)
        if password.strip():
            assert password.strip() not in problem, (password, problem)


def test_a_password_must_not_contain_the_username():
    problem = "password must not contain the username"
    assert passwords.password_problem("wang.fang@example.cn", "wang.fang@example.cn") == problem
    assert passwords.password_problem("my name is Wang.Fang!", "wang.fang") == problem
    assert passwords.password_problem("Wang Fang 1988 here", "wangfang") == problem
    # A short username is no giveaway inside a longer password; equal still is.
    assert passwords.password_problem("royal canal boats", "al") is None
    assert passwords.password_problem("tom", "tom") is not None  # too short anyway


def test_the_common_list_is_a_data_file_read_once():
    assert len(passwords.COMMON) >= 5000
    assert {"password", "123456", "qwertyuiop", "iloveyou"} <= passwords.COMMON
    assert all(w == w.lower() and not w.startswith("#") for w in passwords.COMMON)
