"""AutomationLog and AutomationSettings move from contacts to crm, their rows with them.

crm takes the models over in the migration state as they are (contacts' tables), then
renames the tables to crm's names; contacts 0006 forgets them without touching the
database. A table keeps its row-level security and its policy through a rename.
"""

import django.core.validators
import django.db.models.deletion
import django.db.models.manager
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0005_audit_immutable'),
        ('contacts', '0005_search_fold_and_phone'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AutomationLog',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('automation', models.CharField(choices=[('task_reminder', 'Task reminders'), ('overdue_digest', 'Daily overdue digest'), ('stale_deal', 'Stale-deal alerts'), ('renewal', 'Renewal notices'), ('cadence', 'Follow-up cadences'), ('assignment', 'Lead assignment'), ('weekly_summary', 'Weekly pipeline summary')], max_length=32)),
                        ('subject_type', models.CharField(max_length=40)),
                        ('subject_id', models.BigIntegerField()),
                        ('window', models.DateTimeField()),
                        ('step', models.CharField(blank=True, max_length=20)),
                        ('summary', models.CharField(max_length=200)),
                        ('url', models.CharField(blank=True, max_length=300)),
                        ('detail', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='crm.tenant')),
                        ('user', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'contacts_automationlog',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['tenant', 'automation', '-created_at'], name='automationlog_recent_idx')],
                        'constraints': [models.UniqueConstraint(fields=('tenant', 'automation', 'subject_type', 'subject_id', 'window', 'step'), name='automationlog_once_unique')],
                    },
                    managers=[
                        ('objects', django.db.models.manager.Manager()),
                        ('unscoped', django.db.models.manager.Manager()),
                    ],
                ),
                migrations.CreateModel(
                    name='AutomationSettings',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reminder_lead_minutes', models.PositiveSmallIntegerField(default=15, help_text='0 reminds at the due time; at most one day (1440).', validators=[django.core.validators.MaxValueValidator(1440)], verbose_name='remind before a task is due (minutes)')),
                        ('digest_hour', models.PositiveSmallIntegerField(default=8, help_text="In the workspace's time zone: 8 sends them from 08:00.", validators=[django.core.validators.MaxValueValidator(23)], verbose_name='hour of the daily digest and weekly summary')),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='crm.tenant')),
                    ],
                    options={
                        'db_table': 'contacts_automationsettings',
                        'verbose_name_plural': 'automation settings',
                        'constraints': [models.UniqueConstraint(fields=('tenant',), name='automationsettings_tenant_unique')],
                    },
                    managers=[
                        ('objects', django.db.models.manager.Manager()),
                        ('unscoped', django.db.models.manager.Manager()),
                    ],
                ),
            ],
        ),
        migrations.AlterModelTable(name='automationlog', table=None),
        migrations.AlterModelTable(name='automationsettings', table=None),
    ]
