"""One-statement inserts for hot paths (signup), where get_or_create's SELECT + savepoint + INSERT + release
would cost four round trips to PostgreSQL and a savepoint in the caller's transaction."""

from typing import Any

from django.db import connections, router
from django.db.models import F, Model, QuerySet


def insert_unless_conflict(obj: Model) -> bool:
    """INSERT `obj` … ON CONFLICT DO NOTHING RETURNING its id, in one statement.

    True when the row was inserted (obj then has its pk, as after save()); False when a unique constraint
    already held such a row, and nothing was written. No IntegrityError, so no savepoint is needed: a
    concurrent insert of the same key waits for the other transaction and then does nothing. Unlike save(),
    no model signals are sent (the models written through this have no receivers).
    PostgreSQL and SQLite (3.35+) both speak this syntax.
    """
    model = type(obj)
    meta = model._meta
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    # pre_save() fills auto_now fields, as save() would.
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    # Only identifiers from the model's own metadata, quoted by the backend, are formatted in; values are bound.
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
    sql += f"ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = using
    return True


def insert_for_each_unless_conflict(obj: Model, *, fk_column: str, source: QuerySet[Any]) -> int:
    """INSERT a copy of `obj` for every row `source` finds, its `fk_column` set to that row's id, in one
    INSERT … SELECT … ON CONFLICT DO NOTHING. Returns how many rows were inserted (zero when `source` is empty).

    The same single statement runs whatever `source` finds: for answers that must cost the same work whether or
    not a record exists (the database decides, the Python path does not branch). No model signals are sent.
    """
    model = type(obj)
    meta = model._meta
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    select_list, params = [], []
    for f in fields:
        if f.column == fk_column:
            select_list.append("found.source_id")
        else:
            select_list.append("%s")
            params.append(f.get_db_prep_save(f.pre_save(obj, True), connection))
    if "found.source_id" not in select_list:
        raise ValueError(f"{model.__name__} has no column {fk_column!r}")
    source_sql, source_params = source.values(source_id=F("pk")).query.sql_with_params()
    # Identifiers from the model's metadata (quoted by the backend) and the ORM's own SQL; values are bound.
    columns = ", ".join(quote(f.column) for f in fields)
    sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {', '.join(select_list)} "  # noqa: S608
           f"FROM ({source_sql}) AS found ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *source_params])
        return len(cursor.fetchall())
