"""A deal's transitions indexed by (tenant, deal, at, id) with the stage they entered:
"the last transition before an instant" (ORDER BY at DESC, id DESC LIMIT 1) is then one
backward index-only step, without the sort of the transitions sharing an instant or the
read of the row. The scorecard does it for every deal moved since the period's end
(49,600 at full size: 30 ms less, bench/NOTES.md item 7). Replaces the (tenant, deal,
at) index, whose uses it serves as well; a rebuild over 610,000 transitions at full
size (a few seconds, holding writes to transitions meanwhile).
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_audit_immutable"),
        ("pipeline", "0003_deal_pipeline_covering_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="stagetransition",
            name="transition_deal_at_idx",
        ),
        migrations.AddIndex(
            model_name="stagetransition",
            index=models.Index(
                fields=["tenant", "deal", "at", "id"],
                include=("to_stage",),
                name="transition_deal_at_idx",
            ),
        ),
    ]
