"""Row-level security for tenant tables, as a migration operation.

    operations = [..., EnableRowLevelSecurity("contact")]

enables and forces RLS on the model's table (FORCE, or the table owner — the
application's own role — would ignore the policy) with one policy comparing
`tenant_id` with the per-transaction setting that `crm.tenancy` sets. With the
setting absent the policy matches nothing, so a forgotten filter fails closed.
Does nothing on SQLite, the embedded development database.
"""

from django.db import migrations

TENANT_EXPR = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


class EnableRowLevelSecurity(migrations.operations.base.Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, extra_using: str = "") -> None:
        self.model_name = model_name
        self.extra_using = extra_using

    def deconstruct(self):
        kwargs = {"extra_using": self.extra_using} if self.extra_using else {}
        return self.__class__.__name__, [self.model_name], kwargs

    def state_forwards(self, app_label, state) -> None:
        pass

    def _table(self, app_label, state) -> str:
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(self._table(app_label, to_state))
        using = f"({TENANT_EXPR})"
        if self.extra_using:
            # Extra rows a role may read (e.g. a user's own memberships); writes stay per tenant.
            using = f"({TENANT_EXPR} OR {self.extra_using})"
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        schema_editor.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING {using} WITH CHECK ({TENANT_EXPR})"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(self._table(app_label, from_state))
        schema_editor.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")

    def describe(self) -> str:
        return f"Enable row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"rls_{self.model_name.lower()}"
