"""Every URL under the tenant prefix, tried as another tenant's admin: always a 404.

The walker enumerates crm.tenant_urls, so a new page is covered the moment it exists;
a pattern that needs arguments must say how to build them (URL_ARGS in
tests/<app>/url_args.py), or this test fails.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django.urls import URLResolver, reverse

import tests
from crm import tenant_urls


def _notification(org) -> dict:
    import uuid

    from crm.notifications import notify

    with org.activate():
        n = notify(
            recipient=org.admin.user, kind="system", key=f"walker:{uuid.uuid4()}", title="Hi"
        )
    return {"pk": n.pk}


CORE_URL_ARGS = {
    "member-edit": lambda org: {"pk": org.rep.pk},
    "notification-open": _notification,
}


def collect_url_args() -> dict:
    args = dict(CORE_URL_ARGS)
    for module in pkgutil.iter_modules(tests.__path__):
        try:
            url_args = importlib.import_module(f"tests.{module.name}.url_args")
        except ModuleNotFoundError:
            continue
        args.update(url_args.URL_ARGS)
    return args


def tenant_patterns(patterns=None, namespace: str = "", args=()) -> list[tuple[str, tuple]]:
    """(name, route arguments) for every named URL below /<tenant_slug>/."""
    found = []
    for p in tenant_urls.urlpatterns if patterns is None else patterns:
        own = args + tuple(p.pattern.regex.groupindex)
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            found += tenant_patterns(p.url_patterns, ns, own)
        elif p.name:
            found.append((f"{namespace}{p.name}", own))
    return found


ALL_PATTERNS = tenant_patterns()


def test_the_walker_finds_the_core_pages():
    names = {name for name, _ in ALL_PATTERNS}
    assert {"home", "member-list", "member-edit", "tenant-settings"} <= names


def _build(name: str, org, url_args: dict) -> str:
    kwargs = url_args[name](org) if name in url_args else {}
    return reverse(name, kwargs={"tenant_slug": org.tenant.slug, **kwargs})


@pytest.mark.parametrize("name,route_args", ALL_PATTERNS, ids=[n for n, _ in ALL_PATTERNS])
def test_another_tenants_admin_gets_404_everywhere(name, route_args, org_a, org_b):
    url_args = collect_url_args()
    if route_args:
        assert name in url_args, (
            f"URL {name!r} takes {sorted(route_args)}: add it to URL_ARGS in tests/<app>/url_args.py "
            "so the cross-tenant test can try it"
        )
    client = org_b.client_for(org_b.admin)
    url_in_a = _build(name, org_a, url_args)
    for method in ("get", "post"):
        response = getattr(client, method)(url_in_a)
        assert response.status_code == 404, f"{method.upper()} {url_in_a} as B's admin"
    if route_args:
        # A's object ids under B's own slug: B's admin is a member there, the object is not B's.
        url = reverse(name, kwargs={"tenant_slug": org_b.tenant.slug, **url_args[name](org_a)})
        own = _build(name, org_b, url_args)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code == 405:
                # Refused for the method alone, as it is for B's own object: reveals nothing.
                assert getattr(client, method)(own).status_code == 405
                continue
            assert response.status_code == 404, f"{method.upper()} {url} (A's ids under B)"


@pytest.mark.parametrize("name,route_args", ALL_PATTERNS, ids=[n for n, _ in ALL_PATTERNS])
def test_anonymous_visitors_are_sent_to_sign_in(name, route_args, client, org_a):
    url = _build(name, org_a, collect_url_args())
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_a_workspace_that_does_not_exist_looks_like_one_you_cannot_enter(org_a, org_b):
    client = org_b.client_for(org_b.admin)
    assert client.get("/no-such-company/").status_code == 404
    assert client.get(org_a.url()).status_code == 404


def test_an_outsider_sees_no_workspace(client, org_a, outsider):
    client.force_login(outsider)
    assert client.get(org_a.url()).status_code == 404
    response = client.get("/accounts/workspaces/")
    assert response.status_code == 200
    assert b"Acme" not in response.content
