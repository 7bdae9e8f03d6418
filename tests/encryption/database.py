"""Read what the database really holds, beneath the models."""

from django.db import connection


def stored_value(model, field_name: str, pk) -> str | None:
    """The column's content for one row, exactly as stored."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field_name).column)
    key = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {key} = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def store_raw(model, field_name: str, pk, value) -> None:
    """Overwrite one row's column with ``value``, bypassing the field."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field_name).column)
    key = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {key} = %s", [value, pk])  # noqa: S608


def tables_containing(text: str) -> list[str]:
    """Every table with a row holding ``text`` in any column, read with raw SQL."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            if any(text in _as_text(value) for row in cursor.fetchall() for value in row):
                found.append(table)
    return found


def _as_text(value) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)
