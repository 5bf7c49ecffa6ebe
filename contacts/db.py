"""PostgreSQL-only migration operations for search; nothing happens on SQLite."""

from __future__ import annotations

from django.db import migrations


class TrigramSearchIndex(migrations.operations.base.Operation):
    """A GIN index for as-you-type search: `tenant_id` first, then trigrams of each column.

    Trigrams of `UPPER(column::text)` serve Django's `icontains` (`UPPER(col::text) LIKE
    UPPER(%s)`) and trigram operators. `btree_gin` lets the index lead with `tenant_id`,
    like every index on a tenant table. Both extensions are trusted (PostgreSQL 13+), so
    the database owner creates them without superuser rights.
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, name: str, columns: list[str]) -> None:
        self.model_name = model_name
        self.name = name
        self.columns = columns

    def deconstruct(self):
        return self.__class__.__name__, [self.model_name, self.name, self.columns], {}

    def state_forwards(self, app_label, state) -> None:
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        quote = schema_editor.quote_name
        parts = ", ".join(f"(UPPER({quote(c)}::text)) gin_trgm_ops" for c in self.columns)
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        schema_editor.execute(
            f"CREATE INDEX {quote(self.name)} ON {quote(model._meta.db_table)} "
            f"USING gin ({quote('tenant_id')}, {parts})"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(self.name)}")

    def describe(self) -> str:
        return f"Create trigram search index {self.name} on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return self.name
