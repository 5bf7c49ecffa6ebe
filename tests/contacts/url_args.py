"""How the cross-tenant walker builds each contacts URL that takes arguments: a callable
taking the conftest `Org` and returning kwargs for an object that belongs to that org."""

from __future__ import annotations

from tests import factories


def _contact(org) -> dict:
    with org.activate():
        return {"pk": factories.ContactFactory(owner=org.rep.user).pk}


def _organization(org) -> dict:
    with org.activate():
        return {"pk": factories.OrganizationFactory(owner=org.rep.user).pk}


def _activity(org) -> dict:
    with org.activate():
        return {"pk": factories.ActivityFactory(logged_by=org.rep.user).pk}


def _task(org) -> dict:
    with org.activate():
        return {"pk": factories.TaskFactory(assignee=org.rep.user).pk}


def _saved_view(org) -> dict:
    with org.activate():
        return {"pk": factories.SavedViewFactory(user=org.admin.user).pk}


URL_ARGS = {
    **{
        f"contacts:contact-{page}": _contact
        for page in ("detail", "edit", "log", "task-create", "merge")
    },
    **{
        f"contacts:organization-{page}": _organization
        for page in ("detail", "edit", "log", "task-create", "merge")
    },
    "contacts:activity-edit": _activity,
    "contacts:activity-delete": _activity,
    **{f"contacts:task-{page}": _task for page in ("edit", "done", "reopen", "snooze", "cancel")},
    "contacts:view-delete": _saved_view,
}
