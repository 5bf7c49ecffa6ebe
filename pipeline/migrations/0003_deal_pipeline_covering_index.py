from django.conf import settings
from django.db import migrations, models

# A pipeline belongs to one tenant and a stage to one pipeline: without these statistics
# PostgreSQL multiplies the selectivities of `tenant_id = …` and `pipeline_id = …` as if
# they were independent, expects a few rows where a large tenant has 75,000, and picks a
# sort that spills to disk over a hash aggregate (bench/NOTES.md).
STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS deal_tenant_pipeline_stats (dependencies, ndistinct) "
    "ON tenant_id, pipeline_id, stage_id, status FROM pipeline_deal"
)


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STATISTICS)


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP STATISTICS IF EXISTS deal_tenant_pipeline_stats")


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0002_automation"),
        ("crm", "0005_audit_immutable"),
        ("pipeline", "0002_automation"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="deal",
            name="deal_pipeline_idx",
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                fields=["tenant", "pipeline", "status", "stage"],
                include=("id", "amount", "expected_close", "owner"),
                name="deal_pipeline_stage_idx",
            ),
        ),
        migrations.RunPython(create_statistics, drop_statistics, elidable=True),
    ]
