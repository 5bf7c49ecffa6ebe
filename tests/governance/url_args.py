"""How the cross-tenant walker builds each governance URL that takes arguments: a callable
taking the conftest `Org` and returning kwargs for an object that belongs to that org."""

from __future__ import annotations

from tests import factories


def _field(org) -> dict:
    with org.activate():
        return {"pk": factories.FieldDefinitionFactory().pk}


def _field_action(org) -> dict:
    return {**_field(org), "action": "up"}


def _job(org) -> dict:
    with org.activate():
        return {"pk": factories.ImportJobFactory(created_by=org.admin.user).pk}


def _contact(org) -> dict:
    with org.activate():
        return {"pk": factories.ContactFactory(owner=org.rep.user).pk}


URL_ARGS = {
    "governance:field-edit": _field,
    "governance:field-action": _field_action,
    "governance:import-detail": _job,
    "governance:import-progress": _job,
    "governance:import-errors": _job,
    "governance:contact-privacy": _contact,
    "governance:consent-record": _contact,
    "governance:contact-data-export": _contact,
    "governance:contact-erase": _contact,
}
