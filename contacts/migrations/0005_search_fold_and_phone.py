"""Search terms without accents, and with the digits of phone numbers (issue 17, item 3).

`contacts_fold(text)` is lower case plus a fixed table of accented Latin letters, in
`translate()` and `replace()`: the same table as `contacts.search.fold` (a test compares
them). `contacts_words(text)`, for ranking, turns the usual separators into spaces with
one more `translate()`: it runs for every candidate of a broad query ("ana": 37,500 of
300,000 contacts), where a regular expression cost 2.5 times the whole search. Not the `unaccent` extension: installing it needs a superuser, which the app's
role must not be, and its rules file is the server's, not ours. `contacts_terms` now
takes the phone number first and adds every suffix of at least four of its digits, so
that a part of a number ("171 23" in +48171234567) is a prefix range too. The triggers
rewrite a record's terms when its phone changes as well; every existing term is rebuilt.
"""

from django.db import migrations

FOLD_FROM = (
    "àáâãäåçèéêëìíîïðñòóôõöøùúûüýÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįıĵķĸĺļľŀłńņňŉŋōŏőŕŗřśŝşš"
    "ţťŧũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳ"
)
FOLD_TO = (
    "aaaaaaceeeeiiiidnoooooouuuuyyaaaccccddeeeeegggghhiiiiijkklllllnnnnnooorrrssss"
    "tttuuuuuuwyzzzsouaiouuuuuaagkoojgnaaaeeiioorruusthaeooooy"
)
FOLD_MULTI = {
    "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th", "ĳ": "ij",
    "ǆ": "dz", "ǉ": "lj", "ǌ": "nj", "ǳ": "dz",
}  # fmt: skip


def _fold_sql() -> str:
    expression = f"translate(lower(value), '{FOLD_FROM}', '{FOLD_TO}')"
    for letter, letters in FOLD_MULTI.items():
        expression = f"replace({expression}, '{letter}', '{letters}')"
    return expression


# Built from the constants above only. Most names are ASCII: lower() alone is the same
# for them and spares the table (the seed's 300,000 contacts: 3.4 s instead of 17 s).
FOLD_FUNCTION = f"""CREATE OR REPLACE FUNCTION contacts_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN octet_length(value) = length(value) THEN lower(value) ELSE {_fold_sql()} END
$$;"""  # noqa: S608  # nosec B608
FUNCTIONS = """
CREATE OR REPLACE FUNCTION contacts_words(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT translate(contacts_fold(value), '-.@_''’/+,&()', '            ')
$$;
DROP FUNCTION IF EXISTS contacts_terms(variadic text[]);
CREATE OR REPLACE FUNCTION contacts_terms(phone text, variadic parts text[]) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH folded AS (SELECT contacts_fold(part) AS f FROM unnest(parts) AS part)
    SELECT DISTINCT left(term, 200) FROM (
        SELECT f AS term FROM folded
        UNION ALL
        SELECT regexp_split_to_table(f, '[[:space:][:punct:]]+') FROM folded
        UNION ALL
        SELECT right(d, n)
        FROM (SELECT regexp_replace(phone, '[^0-9]', '', 'g') WHERE phone <> '') AS p(d),
            generate_series(4, length(d)) AS n
    ) AS t WHERE term <> ''
$$;
CREATE OR REPLACE FUNCTION contacts_contact_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM contacts_searchterm t USING new_rows n, old_rows o
        WHERE n.id = o.id AND t.tenant_id = n.tenant_id AND t.contact_id = n.id
          AND (n.first_name, n.last_name, n.email, n.phone)
              IS DISTINCT FROM (o.first_name, o.last_name, o.email, o.phone);
        INSERT INTO contacts_searchterm (tenant_id, contact_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n JOIN old_rows o ON o.id = n.id,
             contacts_terms(n.phone, n.first_name, n.last_name, n.email) AS w
        WHERE (n.first_name, n.last_name, n.email, n.phone)
              IS DISTINCT FROM (o.first_name, o.last_name, o.email, o.phone);
    ELSE
        INSERT INTO contacts_searchterm (tenant_id, contact_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n,
             contacts_terms(n.phone, n.first_name, n.last_name, n.email) AS w;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION contacts_organization_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM contacts_searchterm t USING new_rows n, old_rows o
        WHERE n.id = o.id AND t.tenant_id = n.tenant_id AND t.organization_id = n.id
          AND (n.name, n.domain, n.phone) IS DISTINCT FROM (o.name, o.domain, o.phone);
        INSERT INTO contacts_searchterm (tenant_id, organization_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n JOIN old_rows o ON o.id = n.id,
             contacts_terms(n.phone, n.name, n.domain) AS w
        WHERE (n.name, n.domain, n.phone) IS DISTINCT FROM (o.name, o.domain, o.phone);
    ELSE
        INSERT INTO contacts_searchterm (tenant_id, organization_id, term)
        SELECT n.tenant_id, n.id, w FROM new_rows n, contacts_terms(n.phone, n.name, n.domain) AS w;
    END IF;
    RETURN NULL;
END $$;
"""
# Every tenant's terms again, tenant by tenant (row security hides them otherwise).
REBUILD = [
    "SELECT set_config('app.tenant_id', %(tenant)s, true)",
    "DELETE FROM contacts_searchterm WHERE tenant_id = %(id)s",
    """INSERT INTO contacts_searchterm (tenant_id, contact_id, term)
       SELECT c.tenant_id, c.id, w FROM contacts_contact c,
            contacts_terms(c.phone, c.first_name, c.last_name, c.email) AS w
       WHERE c.tenant_id = %(id)s""",
    """INSERT INTO contacts_searchterm (tenant_id, organization_id, term)
       SELECT o.tenant_id, o.id, w FROM contacts_organization o,
            contacts_terms(o.phone, o.name, o.domain) AS w WHERE o.tenant_id = %(id)s""",
]


def rebuild(schema_editor, statements) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM crm_tenant ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            for statement in statements:
                cursor.execute(statement, {"tenant": str(tenant_id), "id": tenant_id})
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FOLD_FUNCTION)
    schema_editor.execute(FUNCTIONS)
    rebuild(schema_editor, REBUILD)


def backwards(apps, schema_editor):
    """Back to 0003's lower-cased terms without phone digits."""
    if schema_editor.connection.vendor != "postgresql":
        return
    import importlib

    previous = importlib.import_module("contacts.migrations.0003_search_terms")
    schema_editor.execute(previous.DROP)
    schema_editor.execute(
        "DROP FUNCTION IF EXISTS contacts_terms(text, variadic text[]);"
        "DROP FUNCTION IF EXISTS contacts_words(text); DROP FUNCTION IF EXISTS contacts_fold(text);"
    )
    schema_editor.execute(previous.FUNCTIONS)
    schema_editor.execute(previous.TRIGGERS)
    rebuild(schema_editor, REBUILD[:2] + previous.BACKFILL[1:])


class Migration(migrations.Migration):
    dependencies = [("contacts", "0004_activity_occurred_covering_index")]

    operations = [migrations.RunPython(forwards, backwards)]
