"""One-statement inserts for hot paths (signup, scheduling, the Stripe webhook), where get_or_create's SELECT +
savepoint + INSERT + release would cost four round trips to PostgreSQL and a savepoint in the caller's transaction.

Every statement here is built by `_insert_statement`, the one place that writes `INSERT … ON CONFLICT DO NOTHING`,
and each is tested directly on SQLite and on PostgreSQL (tests/foundation/test_insert_unless_conflict.py): the two
databases parse this syntax differently (see `insert_for_each_unless_conflict`), and the embedded default runs on
SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Field, Model, QuerySet
from django.utils import timezone


def insert_unless_conflict(obj: Model, *, json_text: Mapping[str, str] | None = None) -> bool:
    """INSERT `obj` … ON CONFLICT DO NOTHING RETURNING its id, in one statement.

    True when the row was inserted (obj then has its pk, as after save()); False when a unique constraint
    already held such a row, and nothing was written. No IntegrityError, so no savepoint is needed: a
    concurrent insert of the same key waits for the other transaction and then does nothing. Unlike save(),
    no model signals are sent (the models written through this have no receivers).

    `json_text` gives a JSONField's value as JSON text already encoded (a webhook's raw body), stored as it is
    instead of the field's value on `obj`: no decoding and re-encoding of a few kilobytes per insert.
    """
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    raw = dict(json_text or {})
    fields = _insertable_fields(model)
    placeholders, params = [], []
    for f in fields:
        if f.name in raw:
            # PostgreSQL parses the text into jsonb itself; Django keeps JSON as text on SQLite.
            placeholders.append("%s::jsonb" if connection.vendor == "postgresql" else "%s")
            params.append(raw.pop(f.name))
        else:
            placeholders.append("%s")
            # pre_save() fills auto_now fields, as save() would.
            params.append(f.get_db_prep_save(f.pre_save(obj, True), connection))
    if raw:
        raise ValueError(f"{model.__name__} has no field(s) {sorted(raw)}")
    sql = _insert_statement(connection, model, fields, f"VALUES ({', '.join(placeholders)})")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = using
    return True


def insert_for_each_unless_conflict(obj: Model, *, fk_column: str, source: QuerySet[Any],
                                    per_row: Mapping[str, Any] | None = None) -> int:
    """INSERT a copy of `obj` for every row `source` finds, its `fk_column` set to that row's id, in one
    INSERT … SELECT … ON CONFLICT DO NOTHING. Returns how many rows were inserted (zero when `source` is empty).

    `per_row` maps a column of `obj` to an expression over `source`'s rows (e.g. a send time that depends on each
    lead's time zone), which replaces `obj`'s value for that column.

    The same single statement runs whatever `source` finds: for answers that must cost the same work whether or
    not a record exists (the database decides, the Python path does not branch). No model signals are sent.
    """
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    fields = _insertable_fields(model)
    aliases = {column: f"per_row_{n}" for n, column in enumerate(per_row or {})}
    expressions = {alias: (per_row or {})[column] for column, alias in aliases.items()}
    computed = dict(aliases)
    select_list, params = [], []
    for f in fields:
        if f.column == fk_column:
            select_list.append("found.source_id")
        elif f.column in computed:
            select_list.append(f"found.{computed.pop(f.column)}")
        else:
            select_list.append("%s")
            params.append(f.get_db_prep_save(f.pre_save(obj, True), connection))
    missing = ([] if "found.source_id" in select_list else [fk_column]) + sorted(computed)
    if missing:
        raise ValueError(f"{model.__name__} has no column(s) {missing}")
    source_sql, source_params = source.values(source_id=F("pk"), **expressions).query.sql_with_params()
    # The ORM's own SQL for the source; its values are bound like ours. SQLite reads `… FROM x ON CONFLICT` as a
    # join's ON clause (its documented parsing ambiguity of an upsert after INSERT … SELECT): the SELECT must end in
    # a WHERE clause before the upsert clause, and `WHERE true` costs nothing on either database.
    body = f"SELECT {', '.join(select_list)} FROM ({source_sql}) AS found WHERE true"  # noqa: S608
    sql = _insert_statement(connection, model, fields, body)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *source_params])
        return len(cursor.fetchall())


def insert_columns_unless_conflict(model: type[Model], columns: Mapping[str, Sequence[Any]], *,
                                   returning: str | None = None) -> list[tuple[Any, ...]]:
    """INSERT one row of `model` per position of `columns` (field name -> equal-length lists of plain values: str,
    int, bool, datetime, None), every other field at its default, ON CONFLICT DO NOTHING. Returns (pk,) or
    (pk, `returning` field) for each row inserted. For imports: a few statements for thousands of rows, and no
    model instance per row (constructing and preparing them cost more than the database's work).

    On PostgreSQL one statement per call, reading one array per column (`insert_columns_by_unnest`); elsewhere the
    plain version, a VALUES list per few hundred rows (`insert_columns_by_values`). Both give the same rows
    (tests/foundation/test_insert_columns.py). No model signals are sent."""
    connection = connections[router.db_for_write(model)]
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    if not lengths.pop():
        return []
    if connection.vendor == "postgresql":
        return insert_columns_by_unnest(model, columns, returning=returning)
    return insert_columns_by_values(model, columns, returning=returning)


def _columns_plan(model: type[Model], columns: Mapping[str, Sequence[Any]], connection: BaseDatabaseWrapper
                  ) -> tuple[list[Field[Any, Any]], list[Field[Any, Any]], list[Any]]:
    """The insertable fields, those given by `columns`, and the prepared default of each other field."""
    fields = _insertable_fields(model)
    by_name = {f.name: f for f in fields} | {f.attname: f for f in fields}
    unknown = sorted(set(columns) - set(by_name))
    if unknown:
        raise ValueError(f"{model.__name__} has no field(s) {unknown}")
    given = [by_name[name] for name in columns]
    now = timezone.now()  # what save() would give auto_now fields
    defaults = [f.get_db_prep_save(now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                                   else f.get_default(), connection) for f in fields if f not in given]
    return fields, given, defaults


def _returning(model: type[Model], returning: str | None, quote: Any) -> str:
    field = model._meta.get_field(returning) if returning else None
    extra = f", {quote(field.column)}" if isinstance(field, Field) else ""
    return f"RETURNING {quote(model._meta.pk.column)}{extra}"


def insert_columns_by_unnest(model: type[Model], columns: Mapping[str, Sequence[Any]], *,
                             returning: str | None = None) -> list[tuple[Any, ...]]:
    """PostgreSQL: INSERT … SELECT FROM unnest(array, array, …): the values travel as one array per column."""
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    fields, given, defaults = _columns_plan(model, columns, connection)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in given)
    aliases = {f: f"c{n}" for n, f in enumerate(given)}
    select = ", ".join(f"u.{aliases[f]}" if f in aliases else f"%s::{f.db_type(connection)}" for f in fields)
    names = ", ".join(quote(f.column) for f in fields)
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT {select} "  # noqa: S608
           f"FROM unnest({arrays}) AS u({', '.join(aliases.values())}) ON CONFLICT DO NOTHING "
           f"{_returning(model, returning, quote)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*defaults, *(list(values) for values in columns.values())])
        return [tuple(row) for row in cursor.fetchall()]


def insert_columns_by_values(model: type[Model], columns: Mapping[str, Sequence[Any]], *,
                             returning: str | None = None) -> list[tuple[Any, ...]]:
    """The plain version: INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING, each value prepared by its field."""
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    fields, given, defaults = _columns_plan(model, columns, connection)
    default_of = dict(zip([f for f in fields if f not in given], defaults, strict=True))
    lists = dict(zip(given, columns.values(), strict=True))
    count = len(next(iter(columns.values())))
    per_statement = max(1, 30_000 // len(fields))  # SQLite binds at most 32,766 parameters per statement
    row_sql = f"({', '.join(['%s'] * len(fields))})"
    names = ", ".join(quote(f.column) for f in fields)
    inserted: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, count, per_statement):
            stop = min(count, start + per_statement)
            params = [f.get_db_prep_save(lists[f][i], connection) if f in lists else default_of[f]
                      for i in range(start, stop) for f in fields]
            cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES "  # noqa: S608
                           f"{', '.join([row_sql] * (stop - start))} ON CONFLICT DO NOTHING "
                           f"{_returning(model, returning, quote)}", params)
            inserted += [tuple(row) for row in cursor.fetchall()]
    return inserted


def _insertable_fields(model: type[Model]) -> list[Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _insert_statement(connection: BaseDatabaseWrapper, model: type[Model], fields: list[Field[Any, Any]],
                      rows_sql: str) -> str:
    """`INSERT INTO table (columns) <rows_sql> ON CONFLICT DO NOTHING RETURNING pk`, for both databases.

    Only identifiers from the model's own metadata, quoted by the backend, are formatted in.
    """
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    return (f"INSERT INTO {quote(model._meta.db_table)} ({columns}) {rows_sql} "  # noqa: S608
            f"ON CONFLICT DO NOTHING RETURNING {quote(model._meta.pk.column)}")


def insert_with_child_unless_conflict(parent: Model, child: Model, *, fk_field: str) -> bool:
    """INSERT `parent` … ON CONFLICT DO NOTHING and, only when it was inserted, `child` pointing at it through
    `fk_field` (a signup's lead and its consent record). True when both were inserted (both then have their pk, and
    `child`'s foreign key is set); False when a unique constraint already held such a parent: nothing was written.

    On PostgreSQL one statement (`insert_with_child_by_cte`); elsewhere the plain version, two
    (`insert_with_child_plain`). Both write the same rows (tests/foundation/test_insert_with_child.py). No model
    signals are sent for the parent; the plain version saves the child as save() does, the CTE sends none (the
    models written through this have no receivers)."""
    connection = connections[router.db_for_write(type(parent), instance=parent)]
    if connection.vendor == "postgresql":
        return insert_with_child_by_cte(parent, child, fk_field=fk_field)
    return insert_with_child_plain(parent, child, fk_field=fk_field)


def insert_with_child_plain(parent: Model, child: Model, *, fk_field: str) -> bool:
    """The plain version: insert_unless_conflict for the parent, then the child's own save()."""
    if not insert_unless_conflict(parent):
        return False
    setattr(child, fk_field, parent)
    child.save(force_insert=True, using=parent._state.db)
    return True


def insert_with_child_by_cte(parent: Model, child: Model, *, fk_field: str) -> bool:
    """PostgreSQL: `WITH p AS (INSERT parent … ON CONFLICT DO NOTHING RETURNING pk) INSERT child … SELECT … FROM p`:
    one round trip, and the child row exists only if the parent row was inserted by this statement."""
    using = router.db_for_write(type(parent), instance=parent)
    connection = connections[using]
    quote = connection.ops.quote_name
    fk = child._meta.get_field(fk_field)
    if not isinstance(fk, Field):
        raise ValueError(f"{type(child).__name__}.{fk_field} is not a foreign key column")
    fk_column = fk.column
    parent_fields = _insertable_fields(type(parent))
    child_fields = _insertable_fields(type(child))
    parent_params = [f.get_db_prep_save(f.pre_save(parent, True), connection) for f in parent_fields]
    select_list, child_params = [], []
    for f in child_fields:
        if f.column == fk_column:
            select_list.append(f"p.{quote(parent._meta.pk.column)}")
        else:
            select_list.append("%s")
            child_params.append(f.get_db_prep_save(f.pre_save(child, True), connection))
    parent_sql = _insert_statement(connection, type(parent), parent_fields,
                                   f"VALUES ({', '.join(['%s'] * len(parent_fields))})")
    sql = (f"WITH p AS ({parent_sql}) INSERT INTO {quote(child._meta.db_table)} "  # noqa: S608 - our names
           f"({', '.join(quote(f.column) for f in child_fields)}) SELECT {', '.join(select_list)} FROM p "
           f"RETURNING {quote(child._meta.pk.column)}, {quote(fk_column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*parent_params, *child_params])
        row = cursor.fetchone()
    if row is None:
        return False
    child.pk, parent.pk = row
    setattr(child, fk_field, parent)
    for obj in (parent, child):
        obj._state.adding = False
        obj._state.db = using
    return True


def json_record(model: type[Model], values: Mapping[str, Any]) -> str:
    """One row of `model` as the JSON text `jsonb_populate_record` reads (insert_record_sql): `values` by field name,
    every other insertable field at its default (auto_now fields at now), each as its field prepares it for save().

    One parameter per row instead of one per column: psycopg binds client-side under Django, and quoting forty
    parameters one by one cost a signup more Python time than anything else it sends (bench/RESULTS.md)."""
    fields, constant = _record_plan(model)
    record = dict(constant)
    now: datetime | None = None
    for f in fields:
        if f.name in values or f.attname in values:
            value = values[f.name] if f.name in values else values[f.attname]
            if isinstance(value, Model):  # a foreign key given as its object
                value = value.pk
        elif f.column in constant:
            continue
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            now = now or timezone.now()
            value = now
        else:
            value = f.get_default()  # a callable default (timezone.now, dict): called per row, as save() does
        record[f.column] = f.get_prep_value(value)
    unknown = set(values) - {f.name for f in fields} - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no field(s) {sorted(unknown)}")
    return json.dumps(record, default=_json_value, separators=(",", ":"))


@cache
def _record_plan(model: type[Model]) -> tuple[list[Field[Any, Any]], dict[str, Any]]:
    """The insertable fields, and the prepared default of each whose default is a constant (computed once)."""
    fields = _insertable_fields(model)
    constant = {f.column: f.get_prep_value(f.get_default()) for f in fields
                if not callable(f.default) and not getattr(f, "auto_now", False)
                and not getattr(f, "auto_now_add", False)}
    return fields, constant


def _json_value(value: Any) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()  # every digit: DjangoJSONEncoder would cut microseconds
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form for a record")


def insert_record_sql(model: type[Model], *, record: str = "%s", computed: Mapping[str, str] | None = None,
                      joined: str = "") -> str:
    """PostgreSQL: `INSERT INTO <table> (…) SELECT r.<column>, … FROM jsonb_populate_record(NULL::<table>, <record>)
    AS r <joined> WHERE true ON CONFLICT DO NOTHING RETURNING pk`. `record` is the SQL giving the JSON (a
    placeholder for json_record's text); `computed` maps a column to an SQL expression that replaces the record's
    value (e.g. a foreign key read from `joined`, more FROM items after a comma). Only our own SQL and the model's
    quoted names are formatted in."""
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    computed = dict(computed or {})
    select = ", ".join(computed.pop(f.column, f"r.{quote(f.column)}") for f in _insertable_fields(model))
    if computed:
        raise ValueError(f"{model.__name__} has no column(s) {sorted(computed)}")
    body = (f"SELECT {select} FROM jsonb_populate_record(NULL::{table}, ({record})::jsonb) AS r{joined} "  # noqa: S608
            "WHERE true")
    return _insert_statement(connection, model, _insertable_fields(model), body)
