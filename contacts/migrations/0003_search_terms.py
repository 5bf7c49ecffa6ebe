"""Search terms: the words of contacts' and organizations' names, e-mails and domains,
kept by triggers so that search finds them by an index under row security.

Under FORCEd row security PostgreSQL may not evaluate LIKE or the trigram operators
before the tenant policy (they are not leakproof), so a substring search scanned every
contact of the tenant (bench/NOTES.md). Text comparisons (`>=`, `<`) are leakproof: a
prefix range on `term`, in the "C" collation, is an index range scan. Statement-level
triggers with transition tables keep the terms in step with every write, the bulk ones
(imports, seed_scale) included, in one INSERT … SELECT per statement. SQLite
(development) has no terms; search there filters with icontains.
"""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models

import crm.rls

# Whole values (for words with punctuation: "o'brien", "acme-industries.com") and their
# words. `lower` follows the database's collation, as Python's str.lower does for a
# UTF-8 locale.
FUNCTIONS = r"""
ALTER TABLE contacts_searchterm ALTER COLUMN term TYPE varchar(200) COLLATE "C";
CREATE FUNCTION contacts_terms(variadic parts text[]) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT DISTINCT left(term, 200) FROM (
        SELECT lower(part) AS term FROM unnest(parts) AS part
        UNION ALL
        SELECT regexp_split_to_table(lower(part), '[[:space:][:punct:]]+')
        FROM unnest(parts) AS part
    ) AS t WHERE term <> ''
$$;
CREATE FUNCTION contacts_contact_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM contacts_searchterm t USING new_rows n, old_rows o
        WHERE n.id = o.id AND t.tenant_id = n.tenant_id AND t.contact_id = n.id
          AND (n.first_name, n.last_name, n.email)
              IS DISTINCT FROM (o.first_name, o.last_name, o.email);
        INSERT INTO contacts_searchterm (tenant_id, contact_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n JOIN old_rows o ON o.id = n.id,
             contacts_terms(n.first_name, n.last_name, n.email) AS w
        WHERE (n.first_name, n.last_name, n.email)
              IS DISTINCT FROM (o.first_name, o.last_name, o.email);
    ELSE
        INSERT INTO contacts_searchterm (tenant_id, contact_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n,
             contacts_terms(n.first_name, n.last_name, n.email) AS w;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION contacts_organization_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM contacts_searchterm t USING new_rows n, old_rows o
        WHERE n.id = o.id AND t.tenant_id = n.tenant_id AND t.organization_id = n.id
          AND (n.name, n.domain) IS DISTINCT FROM (o.name, o.domain);
        INSERT INTO contacts_searchterm (tenant_id, organization_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n JOIN old_rows o ON o.id = n.id,
             contacts_terms(n.name, n.domain) AS w
        WHERE (n.name, n.domain) IS DISTINCT FROM (o.name, o.domain);
    ELSE
        INSERT INTO contacts_searchterm (tenant_id, organization_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n, contacts_terms(n.name, n.domain) AS w;
    END IF;
    RETURN NULL;
END $$;
"""
TRIGGERS = """
CREATE TRIGGER contacts_contact_terms_insert AFTER INSERT ON contacts_contact
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_contact_terms();
CREATE TRIGGER contacts_contact_terms_update AFTER UPDATE ON contacts_contact
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_contact_terms();
CREATE TRIGGER contacts_organization_terms_insert AFTER INSERT ON contacts_organization
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_organization_terms();
CREATE TRIGGER contacts_organization_terms_update AFTER UPDATE ON contacts_organization
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_organization_terms();
"""
# Existing rows, tenant by tenant (row security hides them otherwise).
BACKFILL = [
    "SELECT set_config('app.tenant_id', %(tenant)s, true)",
    """INSERT INTO contacts_searchterm (tenant_id, contact_id, term)
       SELECT c.tenant_id, c.id, w FROM contacts_contact c,
            contacts_terms(c.first_name, c.last_name, c.email) AS w WHERE c.tenant_id = %(id)s""",
    """INSERT INTO contacts_searchterm (tenant_id, organization_id, term)
       SELECT o.tenant_id, o.id, w FROM contacts_organization o,
            contacts_terms(o.name, o.domain) AS w WHERE o.tenant_id = %(id)s""",
]
DROP = """
DROP TRIGGER IF EXISTS contacts_contact_terms_insert ON contacts_contact;
DROP TRIGGER IF EXISTS contacts_contact_terms_update ON contacts_contact;
DROP TRIGGER IF EXISTS contacts_organization_terms_insert ON contacts_organization;
DROP TRIGGER IF EXISTS contacts_organization_terms_update ON contacts_organization;
DROP FUNCTION IF EXISTS contacts_contact_terms();
DROP FUNCTION IF EXISTS contacts_organization_terms();
DROP FUNCTION IF EXISTS contacts_terms(variadic text[]);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS)
    schema_editor.execute(TRIGGERS)
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
        ("contacts", "0002_automation"),
        ("crm", "0005_audit_immutable"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("term", models.CharField(max_length=200)),
                ("contact", models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="contacts.contact")),
                ("organization", models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="contacts.organization")),
                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="crm.tenant")),
            ],
            options={
                "indexes": [
                    models.Index(condition=models.Q(("contact__isnull", False)), fields=["tenant", "term"], name="searchterm_contact_term_idx"),
                    models.Index(condition=models.Q(("organization__isnull", False)), fields=["tenant", "term"], name="searchterm_org_term_idx"),
                    models.Index(fields=["tenant", "contact"], name="searchterm_contact_idx"),
                    models.Index(fields=["tenant", "organization"], name="searchterm_org_idx"),
                ],
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("unscoped", django.db.models.manager.Manager()),
            ],
        ),
        crm.rls.EnableRowLevelSecurity("searchterm"),
        migrations.RunPython(forwards, backwards),
    ]
