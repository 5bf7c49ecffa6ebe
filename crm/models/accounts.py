from __future__ import annotations

import uuid
import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from crm.tenancy import TenantOwned

RESERVED_SLUGS = {"accounts", "admin", "api", "static", "media", "healthz", "new", "settings"}


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("Users need an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)  # None gives an unusable password (invitations)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Signs in with an e-mail address; belongs to tenants through memberships."""

    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Bumped to end every session of the user at once (see get_session_auth_hash).
    session_version = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.label(self.full_name, self.email)

    @staticmethod
    def label(full_name: str, email: str) -> str:
        """How a person is named in lists: the full name, else the e-mail address."""
        return full_name or email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def _get_session_auth_hash(self, secret=None) -> str:
        # Django ends a session whose stored hash no longer matches; mixing in the
        # version lets a deactivation end all sessions without touching the password.
        return salted_hmac(
            "crm.User.get_session_auth_hash",
            f"{self.password}:{self.session_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def initials(self) -> str:
        parts = str(self).replace("@", " ").split()
        return "".join(p[0] for p in parts[:2]).upper()

    @property
    def short_name(self) -> str:
        return self.full_name.split()[0] if self.full_name else self.email.split("@")[0]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (e.g. Europe/Berlin).")


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1–50 lowercase letters, digits and hyphens, not starting or ending with a hyphen.",
)


class Tenant(models.Model):
    """A company using Keel. Everything it owns carries its id."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    currency = models.CharField(max_length=3, default="EUR")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("home", kwargs={"tenant_slug": self.slug})

    def clean(self) -> None:
        if self.slug in RESERVED_SLUGS:
            raise ValidationError({"slug": f"“{self.slug}” is reserved; choose another."})

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    REP = "rep", "Sales rep"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"

    @classmethod
    def rank(cls, role: str) -> int:
        return [cls.REP, cls.MANAGER, cls.ADMIN].index(role)


class Membership(TenantOwned):
    """A user's place in a tenant, with one role. Deactivated, it grants nothing."""

    # Indexes on tenant tables lead with tenant_id, so foreign keys skip their own index.
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REP)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_tenant_user_unique")
        ]
        indexes = [models.Index(fields=["tenant", "role"], name="membership_tenant_role_idx")]
        ordering = ["user__full_name", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    def has_role(self, role: str) -> bool:
        """True when this member's role is `role` or above (rep < manager < admin)."""
        return self.is_active and Role.rank(self.role) >= Role.rank(role)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_manager(self) -> bool:
        return self.has_role(Role.MANAGER)

    def can_edit(self, record: models.Model) -> bool:
        """Managers and admins edit everything in their tenant; reps what they own."""
        if self.is_manager:
            return True
        return getattr(record, "owner_id", None) == self.user_id


class AuditEvent(TenantOwned):
    """Who did what to which record, and what changed. Written only by `crm.audit`."""

    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.BigIntegerField(null=True)
    target_repr = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created_idx"),
            models.Index(
                fields=["tenant", "target_type", "target_id"], name="audit_tenant_target_idx"
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.verb} {self.target_repr}"


class NotificationKind(models.TextChoices):
    """Every kind of notice Keel sends; members choose per kind how they get it."""

    TASK_DUE = "task_due", "Task reminders"
    OVERDUE_DIGEST = "overdue_digest", "Daily digest of overdue tasks"
    STALE_DEAL = "stale_deal", "Stale-deal alerts"
    RENEWAL = "renewal", "Renewal notices"
    ASSIGNMENT = "assignment", "Records assigned to me"
    WEEKLY_SUMMARY = "weekly_summary", "Weekly pipeline summary"
    CHURN_RISK = "churn_risk", "Customers at risk"
    SYSTEM = "system", "Workspace notices"


class Notification(TenantOwned):
    """One notice to one member, created at most once per deterministic `key`.

    The key names what it is about (kind, object, threshold, window), e.g.
    "stale_deal:deal-42:stage-7:limit"; the unique constraint makes a job that runs
    twice, or two workers racing, create (and e-mail) it once.
    """

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_wanted = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "recipient", "key"],
                name="notification_tenant_recipient_key_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "recipient", "read_at", "-created_at"],
                name="notification_inbox_idx",
            ),
            models.Index(fields=["tenant", "kind", "created_at"], name="notification_kind_idx"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(TenantOwned):
    """A member's choice for one kind; without a row, both channels are on."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "kind"], name="notification_pref_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind}"


class OutboxEvent(TenantOwned):
    """Something that happened which systems outside Keel may hear about (webhooks).

    Written only by `crm.events.publish`, inside the transaction that made the change, so
    the event exists exactly when the change committed (a transactional outbox). Its
    consumers (api's webhooks) turn it into deliveries and set `dispatched_at`.
    """

    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.BigIntegerField(null=True)
    # {"object": <the target as the API shows it, at the moment of the event>, …extra}
    payload = models.JSONField(default=dict)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "event_id"], name="outboxevent_tenant_event_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="outboxevent_tenant_created_idx"),
            models.Index(
                fields=["tenant", "created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outboxevent_pending_idx",
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.event} {self.target_type}:{self.target_id}"


class FieldDefinition(TenantOwned):
    """A custom field an admin added to organizations, contacts or deals.

    Records keep the values in their `custom_fields` JSON under `key` (see
    `crm.custom_fields` for the types and their validation). Removing a field archives
    its definition: the values and their audit history stay, and restoring the field
    brings them back, so a key is never reused for another field.
    """

    class RecordType(models.TextChoices):
        ORGANIZATION = "organization", "Organizations"
        CONTACT = "contact", "Contacts"
        DEAL = "deal", "Deals"

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        LONG_TEXT = "long_text", "Long text"
        NUMBER = "number", "Number"
        MONEY = "money", "Money"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes/no"
        CHOICE = "choice", "Single choice"
        MULTI_CHOICE = "multi_choice", "Multiple choice"
        URL = "url", "URL"
        EMAIL = "email", "E-mail"

    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    key = models.CharField(
        max_length=50,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]{0,49}$",
                "Use lowercase letters, digits and underscores, starting with a letter.",
            )
        ],
    )
    label = models.CharField(max_length=80)
    field_type = models.CharField("type", max_length=20, choices=Type.choices)
    help_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_required = models.BooleanField(
        "always required",
        default=False,
        help_text="Forms and imports refuse a record without a value.",
    )
    # The options of a (multiple) choice field, in order; records store the option text.
    choices = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "record_type", "key"],
                name="fielddef_tenant_type_key_unique",
                violation_error_message="A field with this key exists (perhaps removed).",
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "record_type", "position"], name="fielddef_tenant_type_pos_idx"
            )
        ]
        ordering = ["record_type", "position", "id"]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_record_type_display().lower()})"

    @property
    def is_active(self) -> bool:
        return self.archived_at is None

    @property
    def criterion_name(self) -> str:
        """How a stage criterion names this field: custom:<key>."""
        return f"custom:{self.key}"
