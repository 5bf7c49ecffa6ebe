"""Every change to organizations, contacts, activities and tasks goes through these.

Each service takes the acting user as `by`, runs in one transaction, records an audit
event and refuses bad input with a ValidationError (field-keyed where it can be), writing
nothing. Permission checks (who may change what) are the views' job, through
`crm.permissions`; services check what must hold whoever calls them (imports, jobs).
"""

from contacts.services.common import DuplicateFound
from contacts.services.merge import merge_contacts, merge_organizations
from contacts.services.personal import delete_view, save_view, touch_record
from contacts.services.records import (
    assign_owner,
    change_lifecycle,
    create_contact,
    create_organization,
    update_contact,
    update_organization,
)
from contacts.services.work import (
    cancel_task,
    complete_task,
    create_task,
    delete_activity,
    log_activity,
    reopen_task,
    snooze_task,
    update_activity,
    update_task,
)

__all__ = [
    "DuplicateFound",
    "assign_owner",
    "cancel_task",
    "change_lifecycle",
    "complete_task",
    "create_contact",
    "create_organization",
    "create_task",
    "delete_activity",
    "delete_view",
    "log_activity",
    "merge_contacts",
    "merge_organizations",
    "reopen_task",
    "save_view",
    "snooze_task",
    "touch_record",
    "update_activity",
    "update_contact",
    "update_organization",
    "update_task",
]
