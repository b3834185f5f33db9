"""Named locks held to the end of the current transaction, for writers that have no row to lock yet (numbering a new
record, an import about to write many), and the test that tells a deadlock from other database errors."""

import hashlib

from django.db import OperationalError, connection, transaction

# PostgreSQL's codes for "deadlock detected" and "could not serialize access": the transaction was chosen to give way
# and may be run again as it was.
RETRYABLE_CODES = {"40P01", "40001"}


def _key(name: str) -> int:
    """A stable signed 64-bit number for the name (PostgreSQL's advisory locks are numbered)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def hold_until_commit(name: str) -> None:
    """Wait for the lock called `name`, then hold it until the current transaction ends (commit or rollback).

    On PostgreSQL an advisory transaction lock. SQLite needs none: its transactions are immediate (see the settings'
    DATABASES), so a writer holds the whole database from its first statement.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("hold_until_commit() outside a transaction would release the lock at once")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_key(name)])


def is_retryable(error: BaseException) -> bool:
    """Whether the database aborted the transaction only to break a deadlock (or a serialisation conflict), so that
    running it again may succeed. SQLite's "database is locked" after its busy timeout is not retried: it waited."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    return getattr(cause, "pgcode", None) in RETRYABLE_CODES or getattr(cause, "sqlstate", None) in RETRYABLE_CODES
