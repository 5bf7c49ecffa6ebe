"""crm's tables, one module per concern; import them from here (`from crm.models import …`).

- `accounts`: users, tenants, memberships and roles
- `audit`: the audit trail's rows
- `notifications`: notices and each member's choice per kind
- `events`: the transactional outbox
- `fields`: custom-field definitions
- `automation`: the automations' settings and their done-once log
- `stamped`: `Stamped`, the created/updated by/at columns of the records people edit
"""

from crm.models.accounts import (
    RESERVED_SLUGS,
    Membership,
    Role,
    Tenant,
    User,
    UserManager,
    slug_validator,
    validate_time_zone,
)
from crm.models.audit import AuditEvent
from crm.models.automation import (
    DEFAULT_DIGEST_HOUR,
    DEFAULT_REMINDER_LEAD_MINUTES,
    RENEWAL_DEAL_STEP,
    RUN_KINDS,
    Automation,
    AutomationLog,
    AutomationSettings,
)
from crm.models.events import OutboxEvent
from crm.models.fields import FieldDefinition
from crm.models.notifications import Notification, NotificationKind, NotificationPreference
from crm.models.stamped import Stamped

__all__ = [
    "DEFAULT_DIGEST_HOUR",
    "DEFAULT_REMINDER_LEAD_MINUTES",
    "RENEWAL_DEAL_STEP",
    "RESERVED_SLUGS",
    "RUN_KINDS",
    "AuditEvent",
    "Automation",
    "AutomationLog",
    "AutomationSettings",
    "FieldDefinition",
    "Membership",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "OutboxEvent",
    "Role",
    "Stamped",
    "Tenant",
    "User",
    "UserManager",
    "slug_validator",
    "validate_time_zone",
]
