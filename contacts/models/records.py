"""Organizations and contacts (what they share is `Record`), and the editable choice lists."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse

from crm.models import Stamped
from crm.tenancy import TenantManager, TenantOwned, TenantQuerySet, current_tenant

phone_validator = RegexValidator(
    r"^[+(]?[0-9][0-9 ()./-]{2,38}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$",
    "Enter a phone number of digits, spaces and + ( ) - . / (e.g. +49 30 1234567).",
)
BODY_MAX = 20_000
NOTES_MAX = 5_000


class ChoiceList(models.TextChoices):
    """The choice lists an admin can edit (the screens arrive with governance)."""

    INDUSTRY = "industry", "Industry"
    SIZE_BAND = "size_band", "Company size"
    REVENUE_RANGE = "revenue_range", "Annual revenue"
    LEAD_SOURCE = "lead_source", "Lead source"


# A tenant uses these until its admin saves a list of its own (ChoiceOption rows).
DEFAULT_CHOICES: dict[str, list[tuple[str, str]]] = {
    ChoiceList.INDUSTRY: [
        ("software", "Software"),
        ("manufacturing", "Manufacturing"),
        ("retail", "Retail and e-commerce"),
        ("financial_services", "Financial services"),
        ("healthcare", "Healthcare"),
        ("education", "Education"),
        ("logistics", "Logistics and transport"),
        ("media", "Media and marketing"),
        ("energy", "Energy and utilities"),
        ("professional_services", "Professional services"),
        ("construction", "Construction and real estate"),
        ("hospitality", "Hospitality and travel"),
        ("public_sector", "Public sector and non-profit"),
        ("other", "Other"),
    ],
    ChoiceList.SIZE_BAND: [
        ("1-10", "1–10 employees"),
        ("11-50", "11–50 employees"),
        ("51-200", "51–200 employees"),
        ("201-1000", "201–1,000 employees"),
        ("1001-5000", "1,001–5,000 employees"),
        ("5000+", "More than 5,000 employees"),
    ],
    ChoiceList.REVENUE_RANGE: [
        ("lt1m", "Under 1 million"),
        ("1m-10m", "1–10 million"),
        ("10m-50m", "10–50 million"),
        ("50m-250m", "50–250 million"),
        ("250m-1b", "250 million – 1 billion"),
        ("gt1b", "Over 1 billion"),
    ],
    ChoiceList.LEAD_SOURCE: [
        ("website", "Website"),
        ("referral", "Referral"),
        ("event", "Event or trade show"),
        ("outbound", "Outbound prospecting"),
        ("partner", "Partner"),
        ("inbound_call", "Inbound call"),
        ("advertising", "Advertising"),
        ("other", "Other"),
    ],
}


class ChoiceOption(TenantOwned):
    """One entry of a tenant's own version of a choice list.

    Records store `value`, so renaming a label changes every record at once; an option
    made inactive is no longer offered but still shown on the records that have it.
    """

    list = models.CharField(max_length=20, choices=ChoiceList.choices)
    value = models.CharField(max_length=40)
    label = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "list", "value"], name="choiceoption_tenant_list_value_unique"
            )
        ]
        ordering = ["list", "position", "label"]

    def __str__(self) -> str:
        return f"{self.get_list_display()}: {self.label}"


class RecordQuerySet(TenantQuerySet):
    def live(self) -> RecordQuerySet:
        """Records a rep works with: neither merged into another nor erased."""
        return self.filter(merged_into__isnull=True, erased_at__isnull=True)


class RecordManager(TenantManager.from_queryset(RecordQuerySet)):
    pass


class Record(TenantOwned, Stamped):
    """What organizations and contacts share: an owner, custom fields, history columns."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Values of the tenant's custom fields, keyed by field key; the definitions and their
    # validation arrive with governance (crm's custom-field definitions).
    custom_fields = models.JSONField(default=dict, blank=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    # Set by governance's erasure; the row stays (anonymised) so past figures still add up.
    erased_at = models.DateTimeField(null=True, blank=True)

    objects = RecordManager()
    unscoped = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    @property
    def is_live(self) -> bool:
        return self.merged_into_id is None and self.erased_at is None


class Organization(Record):
    class Lifecycle(models.TextChoices):
        PROSPECT = "prospect", "Prospect"
        CUSTOMER = "customer", "Customer"
        FORMER_CUSTOMER = "former_customer", "Former customer"

    name = models.CharField(max_length=200)
    # The name without case, punctuation and legal form: "Acme, Inc." -> "acme".
    name_key = models.CharField(max_length=200, editable=False)
    domain = models.CharField(max_length=253, blank=True)
    website = models.URLField(max_length=300, blank=True)
    phone = models.CharField(max_length=40, blank=True, validators=[phone_validator])
    industry = models.CharField(max_length=40, blank=True)
    size_band = models.CharField("company size", max_length=40, blank=True)
    revenue_range = models.CharField("annual revenue", max_length=40, blank=True)
    lifecycle = models.CharField(
        max_length=20, choices=Lifecycle.choices, default=Lifecycle.PROSPECT
    )
    street = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state or region", max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta(Record.Meta):
        indexes = [
            models.Index(fields=["tenant", "name_key"], name="org_tenant_name_key_idx"),
            models.Index(fields=["tenant", "domain"], name="org_tenant_domain_idx"),
            models.Index(F("tenant"), Lower("name"), name="org_tenant_lower_name_idx"),
            models.Index(fields=["tenant", "owner", "lifecycle"], name="org_tenant_owner_idx"),
            models.Index(fields=["tenant", "-created_at"], name="org_tenant_created_idx"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("contacts:organization-detail", args=[current_tenant().slug, self.pk])


class Contact(Record):
    class Lifecycle(models.TextChoices):
        LEAD = "lead", "Lead"
        QUALIFIED_LEAD = "qualified_lead", "Qualified lead"
        OPPORTUNITY = "opportunity", "Opportunity"
        CUSTOMER = "customer", "Customer"
        OTHER = "other", "Other"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Phone"
        VIDEO = "video", "Video call"
        IN_PERSON = "in_person", "In person"
        MESSAGING = "messaging", "Text message"

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    # Stored in lower case; unique per tenant among live contacts (see constraints).
    email = models.EmailField("e-mail", max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True, validators=[phone_validator])
    job_title = models.CharField(max_length=150, blank=True)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        db_index=False,
    )
    lead_source = models.CharField(max_length=40, blank=True)
    lifecycle = models.CharField(
        "lifecycle stage", max_length=20, choices=Lifecycle.choices, default=Lifecycle.LEAD
    )
    # The stage the contact was created in, never changed afterwards: the lead-response
    # figure counts contacts created as leads (METRICS.md).
    created_lifecycle = models.CharField(max_length=20, choices=Lifecycle.choices, editable=False)
    preferred_channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta(Record.Meta):
        constraints = [
            models.UniqueConstraint(
                F("tenant"),
                Lower("email"),
                condition=~Q(email="") & Q(merged_into__isnull=True),
                name="contact_tenant_email_ci_unique",
                violation_error_message="Another contact already has this e-mail address.",
            )
        ]
        indexes = [
            models.Index(
                F("tenant"), Lower("last_name"), Lower("first_name"), name="contact_tenant_name_idx"
            ),
            models.Index(fields=["tenant", "organization"], name="contact_tenant_org_idx"),
            models.Index(fields=["tenant", "owner", "lifecycle"], name="contact_tenant_owner_idx"),
            models.Index(fields=["tenant", "-created_at"], name="contact_tenant_created_idx"),
        ]
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("contacts:contact-detail", args=[current_tenant().slug, self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def initials(self) -> str:
        return "".join(p[0] for p in (self.first_name, self.last_name) if p).upper()
