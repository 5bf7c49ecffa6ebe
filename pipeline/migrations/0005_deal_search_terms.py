"""Deals' search terms (issue 17, item 3): the folded words of each deal's name, kept by
statement-level triggers with contacts' `contacts_terms()` (contacts migration 0005) so
that global search finds deals by an index range under row security, as it finds
contacts (see contacts.search and contacts migration 0003)."""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models

import crm.rls

FUNCTIONS = r"""
ALTER TABLE pipeline_dealsearchterm ALTER COLUMN term TYPE varchar(200) COLLATE "C";
CREATE FUNCTION pipeline_deal_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM pipeline_dealsearchterm t USING new_rows n, old_rows o
        WHERE n.id = o.id AND t.tenant_id = n.tenant_id AND t.deal_id = n.id
          AND n.name IS DISTINCT FROM o.name;
        INSERT INTO pipeline_dealsearchterm (tenant_id, deal_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n JOIN old_rows o ON o.id = n.id,
             contacts_terms('', n.name) AS w
        WHERE n.name IS DISTINCT FROM o.name;
    ELSE
        INSERT INTO pipeline_dealsearchterm (tenant_id, deal_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n, contacts_terms('', n.name) AS w;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER pipeline_deal_terms_insert AFTER INSERT ON pipeline_deal
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_deal_terms();
CREATE TRIGGER pipeline_deal_terms_update AFTER UPDATE ON pipeline_deal
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pipeline_deal_terms();
"""
DROP = """
DROP TRIGGER IF EXISTS pipeline_deal_terms_insert ON pipeline_deal;
DROP TRIGGER IF EXISTS pipeline_deal_terms_update ON pipeline_deal;
DROP FUNCTION IF EXISTS pipeline_deal_terms();
"""
# Existing deals, tenant by tenant (row security hides them otherwise).
BACKFILL = [
    "SELECT set_config('app.tenant_id', %(tenant)s, true)",
    """INSERT INTO pipeline_dealsearchterm (tenant_id, deal_id, term)
       SELECT d.tenant_id, d.id, w FROM pipeline_deal d, contacts_terms('', d.name) AS w
       WHERE d.tenant_id = %(id)s""",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM crm_tenant ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            for statement in BACKFILL:
                cursor.execute(statement, {"tenant": str(tenant_id), "id": tenant_id})
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0005_search_fold_and_phone"),
        ("crm", "0005_audit_immutable"),
        ("pipeline", "0004_transition_deal_covering_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="DealSearchTerm",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("term", models.CharField(max_length=200)),
                (
                    "deal",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="pipeline.deal",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="crm.tenant",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["tenant", "term"], name="dealsearchterm_term_idx"),
                    models.Index(fields=["tenant", "deal"], name="dealsearchterm_deal_idx"),
                ],
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("unscoped", django.db.models.manager.Manager()),
            ],
        ),
        crm.rls.EnableRowLevelSecurity("dealsearchterm"),
        migrations.RunPython(forwards, backwards),
    ]
