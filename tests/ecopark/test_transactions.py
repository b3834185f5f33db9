"""A transaction the database aborted to break a deadlock is run again, once; other failures are not."""

import pytest
from django.db import OperationalError, transaction

from ecopark.transactions import retry_on_deadlock
from parks.models import Province


class _Deadlock(Exception):
    pgcode = "40P01"  # as psycopg2's DeadlockDetected carries it


def _aborted(code_error: Exception) -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = code_error
    return error


def _flaky(failures: list[BaseException]):
    calls = []

    @retry_on_deadlock
    def write(name: str) -> int:
        calls.append(name)
        Province.objects.create(code=f"retry-{len(calls)}", name_vi=name, name_en=name)
        if failures:
            raise failures.pop(0)
        return len(calls)

    return write, calls


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_victim_is_run_again_once_and_its_first_attempt_leaves_nothing():
    write, calls = _flaky([_aborted(_Deadlock())])
    assert write("Tỉnh") == 2
    assert calls == ["Tỉnh", "Tỉnh"]
    assert list(Province.objects.filter(code__startswith="retry-").values_list("code", flat=True)) == ["retry-2"]


@pytest.mark.django_db(transaction=True)
def test_a_second_deadlock_and_other_errors_are_raised():
    write, calls = _flaky([_aborted(_Deadlock()), _aborted(_Deadlock())])
    with pytest.raises(OperationalError):
        write("Tỉnh")
    assert len(calls) == 2
    write, calls = _flaky([OperationalError("no such table")])
    with pytest.raises(OperationalError):
        write("Tỉnh")
    assert len(calls) == 1
    assert not Province.objects.filter(code__startswith="retry-").exists()


@pytest.mark.django_db
def test_inside_a_callers_transaction_it_is_not_run_again():
    write, calls = _flaky([_aborted(_Deadlock())])
    with pytest.raises(OperationalError), transaction.atomic():
        write("Tỉnh")
    assert len(calls) == 1
