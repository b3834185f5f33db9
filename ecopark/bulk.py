"""Large inserts (imports): on PostgreSQL with COPY, which skips the per-value compilation that makes Django's
bulk_create slow at tens of thousands of rows; elsewhere with bulk_create itself. Either way the instances come back
saved, with their primary keys, as bulk_create returns them."""

import datetime
import io
import json

from django.db import connection, models
from django.utils import timezone

# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped; \N is NULL.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value) -> str:
    return str(value).translate(_ESCAPES)


def _writer(field: models.Field):
    """How one field's Python value becomes COPY text."""
    if isinstance(field, models.JSONField):
        return lambda v: _text(json.dumps(v, cls=field.encoder))
    if isinstance(field, models.BooleanField):
        return lambda v: "t" if v else "f"
    if isinstance(field, models.DateTimeField):
        return lambda v: v.isoformat() if isinstance(v, datetime.datetime) else _text(v)
    if isinstance(field, models.DateField):
        return lambda v: v.isoformat() if isinstance(v, datetime.date) else _text(v)
    if isinstance(field, models.DecimalField | models.IntegerField | models.FloatField):
        return str  # numbers: nothing to escape (the database rounds a Decimal to the column's scale)
    return _text


def insert_many(model: type[models.Model], objs: list[models.Model], *, batch_size: int = 1000) -> list:
    """Insert new instances of one model in one statement; their pk is set. Run inside the caller's transaction."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=batch_size)
    meta = model._meta
    fields = list(meta.concrete_fields)
    foreign = [f for f in fields if f.is_relation]
    stamped = _stamped(model)
    missing = [obj for obj in objs if obj.pk is None]
    for obj, new_id in zip(missing, _new_ids(model, len(missing)), strict=True):
        obj.pk = new_id
    for obj in objs:
        for field in foreign:  # a parent saved after this instance was built: take its id now
            if getattr(obj, field.attname) is None and field.is_cached(obj):
                parent = field.get_cached_value(obj)
                setattr(obj, field.attname, parent.pk if parent is not None else None)
        for field in stamped:
            field.pre_save(obj, add=True)
    _copy(model, fields, ([getattr(obj, f.attname) for f in fields] for obj in objs))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def insert_rows(model: type[models.Model], rows: list[dict], *, batch_size: int = 1000) -> None:
    """Insert rows given as {attname: value}, all with the same keys (the primary key left out), without building
    model instances: for bookkeeping rows written by the thousand, such as audit entries. Fields stamped on saving
    (auto_now, auto_now_add) get the time now, as bulk_create gives them."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=batch_size)
        return
    now = timezone.now()
    stamped = _stamped(model)
    names = [name for name in rows[0] if name not in {f.attname for f in stamped}]
    fields = [model._meta.get_field(name) for name in names] + stamped
    _copy(model, fields, ([row[name] for name in names] + [now] * len(stamped) for row in rows))


def _stamped(model: type[models.Model]) -> list[models.Field]:
    """The fields stamped with the time on saving."""
    return [f for f in model._meta.concrete_fields if any(getattr(f, a, False) for a in ("auto_now", "auto_now_add"))]


def _new_ids(model: type[models.Model], count: int) -> list[int]:
    """Primary keys drawn from the table's own sequence, as an INSERT would draw them."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [new_id for (new_id,) in cursor.fetchall()]


def _copy(model: type[models.Model], fields: list[models.Field], rows) -> None:
    writers = [_writer(f) for f in fields]
    buffer = io.StringIO()
    for values in rows:
        buffer.write("\t".join("\\N" if v is None else write(v) for v, write in zip(values, writers, strict=True)))
        buffer.write("\n")
    buffer.seek(0)
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors:  # errors as Django's, as bulk_create's
        cursor.cursor.copy_expert(sql, buffer)
