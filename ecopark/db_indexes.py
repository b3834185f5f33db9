"""Index operations for migrations that Django's model state cannot express."""

from django.db import migrations


def trigram_index(table: str, column: str, name: str) -> migrations.RunPython:
    """On PostgreSQL, a trigram (pg_trgm) GIN index of `table.column`, so that a search for a word inside the text is
    an index lookup rather than a scan of every row; elsewhere (SQLite) nothing: the same search scans the column.

    pg_trgm is a trusted extension (the database's owner may create it). The index lives outside Django's model
    state, so the migration that adds it is reversible through this operation only.
    """

    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(create, drop)
