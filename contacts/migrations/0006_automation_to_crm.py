"""AutomationLog and AutomationSettings now belong to crm (crm 0006 took their tables)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0005_search_fold_and_phone'),
        ('crm', '0006_automation_from_contacts'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='AutomationLog'),
                migrations.DeleteModel(name='AutomationSettings'),
            ],
        ),
    ]
