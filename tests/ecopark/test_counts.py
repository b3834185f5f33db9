"""Counts and values kept under a version: read again after every change, never before."""

import pytest
from django.core.cache import cache

from ecopark.cache import count_in_window
from ecopark.counts import ProcessMemo, bump_count_version, cached_count, versions_of
from measures.models import Measure

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_memo_forgets_everything_when_the_version_changes_and_never_brings_it_back():
    memo = ProcessMemo(limit=3)
    memo.under("v1")["a"] = 1
    assert memo.under("v1") == {"a": 1}
    assert memo.under("v2") == {}
    assert memo.under("v1") == {}  # an older version read late starts empty, not with what v1 had
    kept = memo.under("v1")
    kept.update(a=1, b=2, c=3, d=4)
    assert memo.under("v1") == {}  # over its limit: emptied


def test_a_count_is_computed_once_per_version_of_its_table():
    computed = []

    def count():
        computed.append(1)
        return Measure.objects.count()

    table = Measure._meta.db_table
    for _ in range(3):
        (version,) = versions_of(table)
        assert cached_count(Measure.objects.all(), count, scope="all", version=version) == Measure.objects.count()
    assert len(computed) == 1
    cached_count(Measure.objects.all(), count, scope="other filters", version=version)
    assert len(computed) == 2  # another scope is another count
    bump_count_version(table)
    (version,) = versions_of(table)
    cached_count(Measure.objects.all(), count, scope="all", version=version)
    assert len(computed) == 3


def test_versions_are_read_together_and_change_one_by_one():
    first = versions_of("a", "b")
    assert versions_of("a", "b") == first
    bump_count_version("b")
    second = versions_of("a", "b")
    assert second[0] == first[0] and second[1] != first[1]


def test_a_window_counter_counts_and_starts_again_when_it_expires():
    assert [count_in_window(cache, "throttle:test", 60) for _ in range(3)] == [1, 2, 3]
    if hasattr(cache, "count_in_window"):  # on Redis: the counter is given its life when created, in the same call
        key = cache.make_and_validate_key("throttle:test")
        assert 0 < cache._cache.get_client(key).ttl(key) <= 60
    cache.delete("throttle:test")
    assert count_in_window(cache, "throttle:test", 60) == 1
