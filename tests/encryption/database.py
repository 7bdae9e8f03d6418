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


def copy_stored(source_model, source_field, source_pk, target_model, target_field, target_pk):
    """Copy one row's stored column onto another row's column in SQL, as a database user could.

    ``source_pk`` is the primary key of the source row; for a history model, the history id.
    """
    quote = connection.ops.quote_name
    source_table, target_table = source_model._meta.db_table, target_model._meta.db_table
    source_column = source_model._meta.get_field(source_field).column
    target_column = target_model._meta.get_field(target_field).column
    source_key, target_key = source_model._meta.pk.column, target_model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(target_table)} SET {quote(target_column)} = "  # noqa: S608
            f"(SELECT {quote(source_column)} FROM {quote(source_table)} "
            f"WHERE {quote(source_key)} = %s) WHERE {quote(target_key)} = %s",
            [source_pk, target_pk],
        )
