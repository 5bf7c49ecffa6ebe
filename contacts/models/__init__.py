"""Organizations, contacts, activities and tasks: the rep's daily workspace.

Every model is tenant-owned; indexes and unique constraints lead with `tenant`, and
foreign keys skip their own index for that reason. Records are never hard-deleted by
this app: a merged record stays, pointing at its survivor (`merged_into`), and
governance marks erased ones (`erased_at`), so figures about the past stay computable.

One module per concern; import the models from here (`from contacts.models import …`):
`records` (organizations, contacts, choice lists), `work` (activities, tasks),
`personal` (saved views, recent records), `search` (search terms), `assignment`
(lead assignment rules).
"""

from contacts.models.assignment import AssignmentRule, AssignmentRuleMember
from contacts.models.personal import RecentRecord, SavedView
from contacts.models.records import (
    BODY_MAX,
    DEFAULT_CHOICES,
    NOTES_MAX,
    ChoiceList,
    ChoiceOption,
    Contact,
    Organization,
    Record,
    RecordManager,
    RecordQuerySet,
    phone_validator,
)
from contacts.models.search import SearchTerm
from contacts.models.work import Activity, Task

__all__ = [
    "BODY_MAX",
    "DEFAULT_CHOICES",
    "NOTES_MAX",
    "Activity",
    "AssignmentRule",
    "AssignmentRuleMember",
    "ChoiceList",
    "ChoiceOption",
    "Contact",
    "Organization",
    "Record",
    "RecordManager",
    "RecordQuerySet",
    "RecentRecord",
    "SavedView",
    "SearchTerm",
    "Task",
    "phone_validator",
]
