"""How the cross-tenant walker builds each intelligence URL that takes arguments: a callable
taking the conftest `Org` and returning kwargs for an object that belongs to that org."""

from __future__ import annotations

from tests import factories


def _organization(org) -> dict:
    with org.activate():
        return {"pk": factories.OrganizationFactory(owner=org.rep.user, lifecycle="customer").pk}


URL_ARGS = {
    "intelligence:potential": _organization,
}
