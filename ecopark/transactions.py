"""Transactions that the database may abort to break a deadlock: run once more, from the start."""

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, transaction

from ecopark.locks import is_retryable

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def retry_on_deadlock(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in a transaction; when the database aborts it to break a deadlock (or a serialisation conflict),
    run it once more. A second failure is raised.

    Only an outermost transaction is run again: inside a caller's transaction the locks the caller took are still
    held, so `func` runs in a savepoint and the caller, which owns the transaction, decides.
    """

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                return func(*args, **kwargs)
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except OperationalError as error:
            if not is_retryable(error):
                raise
            logger.warning("%s gave way to another transaction (%s); running it again", func.__qualname__, error)
        with transaction.atomic():
            return func(*args, **kwargs)

    return run
