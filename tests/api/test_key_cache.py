"""``api.deps.KeyCache``: verified keys trusted for the TTL, bounded, dropped by key id."""

from __future__ import annotations

import time

from api.deps import KeyCache
from creditlines.auth.service import Principal

ALICE = Principal(key_id="k-alice", role="credit_officer", distributor_id="actebis")
BOB = Principal(key_id="k-bob", role="partner_manager", vendor_id="hp")


def test_a_put_key_is_found_until_the_ttl_runs_out() -> None:
    cache = KeyCache(ttl=5)
    cache.put("d1", ALICE)
    assert cache.get("d1") == ALICE and cache.get("d2") is None
    cache.ttl = 1  # a new TTL starts from an empty cache
    assert cache.get("d1") is None
    cache.put("d1", ALICE)
    time.sleep(1.05)
    assert cache.get("d1") is None


def test_a_ttl_of_zero_or_less_caches_nothing() -> None:
    for ttl in (0, -1):
        cache = KeyCache(ttl=ttl)
        cache.put("d1", ALICE)
        assert cache.get("d1") is None


def test_the_number_of_entries_is_bounded() -> None:
    cache = KeyCache(ttl=60, max_entries=3)
    for i in range(10):
        cache.put(f"d{i}", ALICE)
    assert sum(cache.get(f"d{i}") is not None for i in range(10)) <= 3
    assert cache.get("d9") == ALICE


def test_forget_key_drops_every_entry_of_that_key_only() -> None:
    cache = KeyCache(ttl=60)
    cache.put("a1", ALICE)
    cache.put("a2", ALICE)
    cache.put("b1", BOB)
    cache.forget_key("k-alice")
    assert cache.get("a1") is None and cache.get("a2") is None
    assert cache.get("b1") == BOB
