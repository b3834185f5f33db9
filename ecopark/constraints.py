"""What the database would refuse in rows not yet written: a check (a preview) finds every error the insert would.

A model's check constraints are evaluated by the database itself on the unsaved instances, in the SQL it checks on
insert (compiled as Django compiles the constraint), for many rows in one query; numbers too large for their column
(which PostgreSQL refuses and SQLite would keep) are found in Python. Nothing is written.

The SQL is put together from the model's own constraints and quoted column names; every value is a parameter.
"""

from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.sql import Query
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

ROWS_PER_QUERY = 500
PLAIN = frozenset({str, int, bool})
Refusals = dict[int, ValidationError]


def refusals(model: type[models.Model], instances: list, *, using: str = DEFAULT_DB_ALIAS) -> Refusals:
    """The instances (by position) that inserting would refuse, each with its errors: a check constraint's message on
    the one field it names (on the row when it names several), a number too large on its field."""
    errors = {position: error.error_dict for position, error in too_large(model, instances).items()}
    checks = [c for c in model._meta.constraints if isinstance(c, models.CheckConstraint)]
    if checks and instances:
        connection = connections[using]
        fields = _fields_of(model, checks)
        conditions = [_condition_sql(model, check, connection) for check in checks]
        for position, failed in _failing(connection, fields, conditions, instances, errors):
            check = checks[failed]
            named = check.condition.referenced_base_fields
            where = next(iter(named)) if len(named) == 1 else NON_FIELD_ERRORS
            errors.setdefault(position, {}).setdefault(where, []).append(check.get_violation_error_message())
    return {position: ValidationError(found) for position, found in sorted(errors.items())}


def too_large(model: type[models.Model], instances: list) -> Refusals:
    """The instances (by position) holding numbers too large for their columns, each with its errors; no query (for
    a single write, whose check constraints the model's own validation has checked already)."""
    decimals = _decimal_limits(model)
    errors: dict[int, dict[str, list[str]]] = {}
    for position, instance in enumerate(instances):
        for name, message in _too_large(decimals, instance):
            errors.setdefault(position, {}).setdefault(name, []).append(message)
    return {position: ValidationError(found) for position, found in sorted(errors.items())}


def _decimal_limits(model) -> list[tuple[models.DecimalField, Decimal, Decimal]]:
    """Each decimal column with the smallest value it cannot hold and its step (from its digits and places)."""
    return [
        (field, Decimal(10) ** (field.max_digits - field.decimal_places), Decimal(1).scaleb(-field.decimal_places))
        for field in model._meta.concrete_fields
        if isinstance(field, models.DecimalField)
    ]


def _too_large(decimals, instance):
    """(field, message) for the decimals the columns cannot hold: more whole digits than they keep, after rounding to
    their decimal places as the database rounds. A value entered is named on its field; values worked out from others
    (not editable) make one message on the row, naming the first."""
    worked_out = []
    for field, limit, step in decimals:
        value = getattr(instance, field.attname)
        if value is None or abs(value) < limit - step:
            continue
        value = Decimal(value).quantize(step)
        if abs(value) < limit:
            continue
        names = {"field": str(field.verbose_name), "value": _number(value), "limit": _number(limit)}
        if field.editable:
            message = _("%(field)s: %(value)s is more than can be kept (less than %(limit)s).")
            yield field.name, message % {**names, "field": capfirst(names["field"])}
        else:
            worked_out.append(names)
    if worked_out:
        message = _(
            "The figures worked out would be too large to keep: %(field)s would be %(value)s, and less than "
            "%(limit)s is kept. Check the quantities and units they come from."
        )
        yield NON_FIELD_ERRORS, message % worked_out[0]


def _number(value: Decimal) -> str:
    return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def _fields_of(model, checks) -> list[models.Field]:
    names = sorted({name for check in checks for name in check.condition.referenced_base_fields})
    return [model._meta.get_field(name) for name in names]


def _condition_sql(model, check: models.CheckConstraint, connection) -> tuple[str, list]:
    """The constraint's condition as the database checks it, on unqualified column names (as in its DDL)."""
    query = Query(model=model, alias_cols=False)
    where = query.build_where(check.condition)
    return where.as_sql(query.get_compiler(connection=connection), connection)


def _failing(connection, fields, conditions, instances, known: dict):
    """(position, index of the constraint) for each constraint an instance breaks, in one query per batch.

    A NULL result passes, as it does in a CHECK. A number the column cannot hold is sent as NULL: it is refused
    already (`known`), and casting it would fail the query.
    """
    columns = [[] for _field in fields]
    for position, instance in enumerate(instances):
        too_large = known.get(position, ())
        for values, field in zip(columns, fields, strict=True):
            value = None if field.name in too_large else getattr(instance, field.attname)
            # Text, whole numbers and NULL go as they are; the field prepares the rest (dates, decimals) for the driver.
            values.append(value if value is None or type(value) in PLAIN else field.get_db_prep_save(value, connection))
    tests = ", ".join(f"COALESCE(({sql}), TRUE)" for sql, _params in conditions)
    condition_params = [param for _sql, params in conditions for param in params]
    quote = connection.ops.quote_name
    names = ", ".join([quote("position"), *(quote(field.column) for field in fields)])
    if connection.vendor == "postgresql":  # every column as one typed array: a short text, however many rows
        arrays = ", ".join(["%s::integer[]", *(f"%s::{_pg_type(field, connection)}[]" for field in fields)])
        query = f"SELECT {quote('position')}, {tests} FROM unnest({arrays}) AS {quote('unsaved')}({names})"  # noqa: S608
        arrays = [_pg_array(range(len(instances))), *(_pg_array(values) for values in columns)]
        batches = [(query, [*condition_params, *arrays])]  # in the order of the text
    else:
        batches = _value_lists(connection, fields, columns, len(instances), tests, condition_params)
    with connection.cursor() as cursor:
        for query, params in batches:
            cursor.execute(query, params)
            for position, *passed in cursor.fetchall():
                for index, ok in enumerate(passed):
                    if not ok:
                        yield position, index


def _pg_array(values) -> str:
    """The text form of a PostgreSQL array: parsed by the server in one go, where an ARRAY[...] of as many terms (as the
    driver writes a list) costs a second to parse at 10,000 rows."""

    def element(value) -> str:
        if value is None:
            return "NULL"
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "{" + ",".join(map(element, values)) + "}"


def _pg_type(field: models.Field, connection) -> str:
    if isinstance(field, models.CharField | models.TextField):
        return "text"  # a cast to varchar(n) would cut a longer value short
    return field.cast_db_type(connection)


def _value_lists(connection, fields, columns, rows: int, tests: str, condition_params: list):
    """The query for other databases (SQLite): the rows as a VALUES list, as many per query as it takes parameters."""
    quote = connection.ops.quote_name
    numeric = {n for n, field in enumerate(fields) if isinstance(field, models.DecimalField)}
    typed = ", ".join(
        [f"column1 AS {quote('position')}"]
        + [
            f"{f'CAST(column{n + 2} AS NUMERIC)' if n in numeric else f'column{n + 2}'} AS {quote(field.column)}"
            for n, field in enumerate(fields)
        ]
    )
    per_query = ROWS_PER_QUERY
    if limit := connection.features.max_query_params:  # SQLite's 999
        per_query = max(1, min(per_query, (limit - len(condition_params)) // (len(fields) + 1)))
    for start in range(0, rows, per_query):
        positions = range(start, min(rows, start + per_query))
        values = ", ".join("(" + ", ".join(["%s"] * (len(fields) + 1)) + ")" for _position in positions)
        params = [value for p in positions for value in (p, *(column[p] for column in columns))]
        given = f"SELECT {typed} FROM (VALUES {values}) AS {quote('given')}"  # noqa: S608
        query = f"WITH {quote('unsaved')} AS ({given}) SELECT {quote('position')}, {tests} FROM {quote('unsaved')}"  # noqa: S608
        yield query, [*params, *condition_params]
