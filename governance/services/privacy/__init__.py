"""GDPR: consent per purpose, the data-subject export, erasure, and the retention policy.

Erasure anonymises instead of deleting: the contact row, its activities and tasks stay,
so counts, conversion and response-time figures about the past still add up, but every
personal value is gone: names, e-mail, phone, job title and custom fields of the contact
(and of duplicates merged into it), the subjects and notes of its activities and tasks,
mentions of the person in the activities, tasks and deals around it, notifications,
pending webhook payloads, import error rows and the audit entries about it. The request
and its completion are recorded (`ErasureRequest` and the audit trail).

Split by concern: `consent`, `export` (the data-subject export), `erasure`, `retention`.
Views, tasks and tests call the services as `privacy.<service>`, so they are named here.
"""

from governance.services.privacy.consent import current_consents, record_consent
from governance.services.privacy.erasure import erase_contact
from governance.services.privacy.export import export_subject_data
from governance.services.privacy.retention import (
    apply_retention_policy,
    months_before,
    retention_candidates,
    retention_policy,
    save_retention_policy,
)

__all__ = [
    "apply_retention_policy",
    "current_consents",
    "erase_contact",
    "export_subject_data",
    "months_before",
    "record_consent",
    "retention_candidates",
    "retention_policy",
    "save_retention_policy",
]
