"""The audit trail cannot be edited or deleted, even by a bug or a raw query.

On PostgreSQL a trigger refuses UPDATE and DELETE on crm_auditevent, with two narrow
exceptions: a deleted user's entries lose their actor (the foreign key's SET NULL), and
an erasure (governance) may redact personal data in `changes` and `target_repr` after
setting the transaction-local `app.audit_redaction` to 'on'. Who did what, to which
record and when never changes. SQLite (development) has no trigger.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION crm_auditevent_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.id = OLD.id
       AND NEW.tenant_id = OLD.tenant_id
       AND NEW.verb = OLD.verb
       AND NEW.target_type = OLD.target_type
       AND NEW.target_id IS NOT DISTINCT FROM OLD.target_id
       AND NEW.created_at = OLD.created_at THEN
        IF NEW.actor_id IS NULL AND NEW.changes = OLD.changes
           AND NEW.target_repr = OLD.target_repr THEN
            RETURN NEW;
        END IF;
        IF NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
           AND current_setting('app.audit_redaction', true) = 'on' THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit entries cannot be changed or deleted (' || TG_OP || ' on crm_auditevent)',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
TRIGGER = """
CREATE TRIGGER crm_auditevent_immutable
BEFORE UPDATE OR DELETE ON crm_auditevent
FOR EACH ROW EXECUTE FUNCTION crm_auditevent_immutable();
"""
DROP = """
DROP TRIGGER IF EXISTS crm_auditevent_immutable ON crm_auditevent;
DROP FUNCTION IF EXISTS crm_auditevent_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        schema_editor.execute(TRIGGER)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_field_definitions")]

    operations = [migrations.RunPython(forwards, backwards)]
