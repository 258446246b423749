"""Login throttling rules (pure, in memory): a lock per username and address, back-offs for
the wider patterns, so one person behind a shared address cannot lock everyone out."""

from __future__ import annotations

import time

from app.auth import throttle as throttle_module
from app.auth.ratelimit import FailureWindow, TokenBuckets
from app.auth.throttle import BACKOFF_CAP_S, LoginThrottle


def test_one_account_guessed_from_one_address_is_locked_for_the_window():
    throttle = LoginThrottle(max_failures=5, window_s=900)
    for _ in range(5):
        throttle.failed("alice", "10.0.0.1")
    assert 890 < throttle.retry_after("alice", "10.0.0.1") <= 900
    assert throttle.retry_after("alice", "10.0.0.2") == 0  # alice from elsewhere
    assert throttle.retry_after("bob", "10.0.0.1") == 0  # the neighbour behind the same NAT


def test_a_shared_address_gets_a_short_growing_back_off_never_a_lock():
    throttle = LoginThrottle(max_failures=5, window_s=900)
    for n in range(49):  # one person tries 49 usernames from the office NAT
        throttle.failed(f"user{n}", "10.0.0.9")
    assert throttle.retry_after("colleague", "10.0.0.9") == 0
    throttle.failed("user49", "10.0.0.9")
    first = throttle.retry_after("colleague", "10.0.0.9")
    assert 0 < first <= 1.0
    for n in range(6):
        throttle.failed(f"more{n}", "10.0.0.9")
    later = throttle.retry_after("colleague", "10.0.0.9")
    assert 1.0 < later <= BACKOFF_CAP_S  # grows, and never past the cap (not 15 minutes)
    for n in range(100):
        throttle.failed(f"flood{n}", "10.0.0.9")
    assert throttle.retry_after("colleague", "10.0.0.9") <= BACKOFF_CAP_S


def test_one_username_tried_from_many_addresses_backs_off(monkeypatch):
    monkeypatch.setattr(throttle_module, "USERNAME_FACTOR", 2)
    throttle = LoginThrottle(max_failures=3, window_s=60)
    for n in range(5):
        throttle.failed("ceo", f"203.0.113.{n}")
    assert throttle.retry_after("ceo", "198.51.100.1") == 0
    throttle.failed("ceo", "203.0.113.99")  # the 6th over all addresses: back-off starts
    assert 0 < throttle.retry_after("ceo", "198.51.100.1") <= 1.0
    assert throttle.retry_after("cfo", "198.51.100.1") == 0


def test_a_success_clears_the_pair_only():
    throttle = LoginThrottle(max_failures=2, window_s=60)
    throttle.failed("alice", "10.0.0.1")
    throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") > 0
    throttle.succeeded("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") == 0


def test_token_buckets_allow_the_burst_then_the_rate():
    buckets = TokenBuckets(rate_per_s=20, burst=5)
    assert [buckets.take("a") for _ in range(5)] == [0.0] * 5
    wait = buckets.take("a")
    assert 0 < wait <= 1 / 20
    assert buckets.take("b") == 0.0  # another key, its own bucket
    time.sleep(wait + 0.01)
    assert buckets.take("a") == 0.0


def test_failure_window_refuses_after_the_limit_until_the_oldest_ages():
    window = FailureWindow(max_failures=3, window_s=0.2)
    for _ in range(3):
        assert window.retry_after("10.0.0.1") == 0
        window.failed("10.0.0.1")
    assert 0 < window.retry_after("10.0.0.1") <= 0.2
    assert window.retry_after("10.0.0.2") == 0
    time.sleep(0.25)
    assert window.retry_after("10.0.0.1") == 0
