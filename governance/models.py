"""What admins configure and compliance needs: imports, exports, consent, erasure, retention,
and the data-quality expectations. Custom-field definitions live in crm (every record
type's forms use them); the audit trail is crm's AuditEvent.

Every model is tenant-owned; indexes and unique constraints lead with `tenant`, and
foreign keys skip their own index for that reason.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from crm.tenancy import TenantOwned

RECORD_KINDS = [
    ("contacts", "Contacts"),
    ("organizations", "Organizations"),
    ("deals", "Deals"),
]


class ImportJob(TenantOwned):
    """One CSV file being imported: its format, the column mapping, and the progress.

    The task works through the file in chunks, each in its own transaction that also
    advances `next_offset`, so a crash or a second delivery resumes where the last
    committed chunk ended and never applies a row twice.
    """

    class Kind(models.TextChoices):
        CONTACTS = "contacts", "Contacts"
        ORGANIZATIONS = "organizations", "Organizations"
        DEALS = "deals", "Deals"

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for the column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.MAPPING)
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField(default=0)
    # Relative to MEDIA_ROOT: the upload, and the rows prepared for the task (JSON lines).
    stored_path = models.CharField(max_length=255, blank=True)
    prepared_path = models.CharField(max_length=255, blank=True)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    headers = models.JSONField(default=list, blank=True)
    # {column index as text: target field}; unmapped columns are absent.
    mapping = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    # Organizations created on the way (a contact's company that did not exist yet).
    organizations_created = models.PositiveIntegerField(default=0)
    next_offset = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="importjob_tenant_created_idx")
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import of {self.get_kind_display().lower()} from {self.file_name}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportRowError(TenantOwned):
    """A row the import refused, with the reason and the row as it was in the file."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The spreadsheet row: the header is row 1, the first data row is row 2.
    row_number = models.PositiveIntegerField()
    message = models.TextField()
    values = models.JSONField(default=list)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "job", "row_number"], name="importrowerror_job_row_idx")
        ]
        ordering = ["row_number", "id"]

    def __str__(self) -> str:
        return f"Row {self.row_number}: {self.message}"


class DataExport(TenantOwned):
    """A CSV export somebody downloaded: which list, with which filters, how many rows."""

    kind = models.CharField(max_length=20, choices=RECORD_KINDS)
    query = models.CharField(max_length=2000, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="dataexport_tenant_created_idx")
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export of {self.row_count} {self.kind}"


class Consent(TenantOwned):
    """A contact's answer for one purpose, as recorded at one moment. Never edited: a new
    answer is a new row, so the history of what they agreed to, and when, stays."""

    class Purpose(models.TextChoices):
        EMAIL_MARKETING = "email_marketing", "Marketing e-mails"
        NEWSLETTER = "newsletter", "Newsletter"
        PHONE = "phone", "Sales calls"
        EVENTS = "events", "Event invitations"
        PROFILING = "profiling", "Profiling and analytics"
        PARTNERS = "partners", "Sharing with partners"

    class Status(models.TextChoices):
        GRANTED = "granted", "Granted"
        REFUSED = "refused", "Refused"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Source(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Phone call"
        IN_PERSON = "in_person", "In person"
        CONTRACT = "contract", "Contract"
        IMPORT = "import", "Import"
        OTHER = "other", "Other"

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    note = models.CharField(max_length=300, blank=True)
    # When the person gave (or withdrew) it; `created_at` is when it was written down.
    given_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["tenant", "contact", "purpose", "-given_at"], name="consent_contact_idx"
            )
        ]
        ordering = ["-given_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {self.get_status_display()}"


class ErasureRequest(TenantOwned):
    """A request to erase a person's data, and its completion.

    The contact row stays (anonymised) so counts and figures about the past still add
    up; `subject` names it without personal data ("Contact #42").
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        COMPLETED = "completed", "Completed"

    class Origin(models.TextChoices):
        REQUEST = "request", "Data subject's request"
        RETENTION = "retention", "Retention policy"

    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    subject = models.CharField(max_length=100)
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.REQUEST)
    reason = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    requested_at = models.DateTimeField(default=timezone.now)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    # What was anonymised: {"activities": 3, "tasks": 1, "audit_entries": 5, …}
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-requested_at"], name="erasure_tenant_requested_idx"),
            models.Index(fields=["tenant", "contact"], name="erasure_tenant_contact_idx"),
        ]
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Erasure of {self.subject}"

    SUMMARY_LABELS = {
        "contacts": "contact records",
        "activities": "activities",
        "tasks": "tasks",
        "mentions": "mentions elsewhere",
        "notifications": "notifications",
        "webhook_payloads": "webhook payloads",
        "import_rows": "refused import rows",
        "audit_entries": "audit entries",
    }

    @property
    def summary_items(self) -> list[tuple[str, int]]:
        """What was anonymised, in words, leaving out what there was none of."""
        return [
            (self.SUMMARY_LABELS.get(key, key.replace("_", " ")), count)
            for key, count in (self.summary or {}).items()
            if count
        ]


class RetentionPolicy(TenantOwned):
    """Erase the personal data of contacts nobody has worked with for a long time.

    Off until an admin switches it on (after looking at the preview); a daily job then
    erases, as an erasure request each, the live contacts in the chosen lifecycle stages
    that were created before the cut-off, have no activity since it, were not changed
    since it, and are not the contact of an open deal.
    """

    is_enabled = models.BooleanField("run the policy every day", default=False)
    inactive_months = models.PositiveSmallIntegerField(
        "months without activity",
        default=24,
        validators=[MinValueValidator(6), MaxValueValidator(120)],
    )
    lifecycles = models.JSONField(default=list, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    updated_at = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="retentionpolicy_tenant_unique")
        ]
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        state = "on" if self.is_enabled else "off"
        return f"Retention policy ({state}, {self.inactive_months} months)"


class QualitySettings(TenantOwned):
    """The built-in fields the tenant expects filled in, per record type (the custom fields
    marked "always required" come on top). They count for data completeness and the
    data-quality page; forms do not enforce them (custom required fields are enforced)."""

    expected_fields = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="qualitysettings_tenant_unique")
        ]
        verbose_name_plural = "quality settings"

    def __str__(self) -> str:
        return "Data-quality settings"
