"""What the in-process benchmarks share (bench/pages.py, bench/dashboards.py): one request timed again and again
within a budget, its SQL queries counted, and the p95 of the times."""

import statistics
import time
from collections.abc import Callable


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def timed(
    request: Callable[[], None], *, requests: int, budget_s: float = float("inf"), at_least: int = 1
) -> list[float]:
    """The times of `request()` in ms, `requests` times in a row; fewer (at least `at_least`) past `budget_s`."""
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < requests and (len(times) < at_least or time.perf_counter() - started < budget_s):
        begun = time.perf_counter()
        request()
        times.append((time.perf_counter() - begun) * 1000)
    return times


def counted(request: Callable[[], None]) -> tuple[int, float]:
    """The SQL statements `request()` made, and its time in ms."""
    from django.db import connection

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    begun = time.perf_counter()
    with connection.execute_wrapper(count):
        request()
    return queries, (time.perf_counter() - begun) * 1000
