"""The (tenant, occurred_at) index of activities carries the id: the activities of a
time range are then read from the index alone. The scorecard's "deals with activity in
the rotting period" joined two weeks of activities (58,000 at full size) to their deal
links by reading each one's row from a 1 GB table (75 ms; 30 ms by index only,
bench/NOTES.md item 7). A rebuild of an index on a large table: at full size
(3,000,000 activities) it takes seconds and holds writes to activities meanwhile.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0003_search_terms"),
        ("crm", "0005_audit_immutable"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="activity",
            name="activity_tenant_occurred_idx",
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                fields=["tenant", "-occurred_at"],
                include=("id",),
                name="activity_tenant_occurred_idx",
            ),
        ),
    ]
