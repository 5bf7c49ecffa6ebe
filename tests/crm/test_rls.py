"""The second wall: PostgreSQL row-level security holds even when the ORM's scoping is
bypassed. Each test guards one of the pitfalls in DESIGN.md that silently switch it off."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.test import RequestFactory

from crm.middleware import TenantMiddleware
from crm.models import Membership
from crm.tenancy import tenant_context

pytestmark = pytest.mark.postgres


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_the_application_role_cannot_bypass_policies(db):
    super_, bypass = _rows(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )[0]
    assert not super_, "the app's database role is a superuser: RLS is ignored"
    assert not bypass, "the app's database role has BYPASSRLS: RLS is ignored"


def test_every_tenant_table_has_forced_rls_with_a_policy(db):
    tables = _rows(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
        WHERE c.relkind = 'r'
        """
    )
    assert tables, "found no tenant tables at all"
    unprotected = [
        name for name, enabled, forced, policies in tables if not (enabled and forced and policies)
    ]
    assert unprotected == []


def test_every_index_on_a_tenant_table_starts_with_tenant_id(db):
    indexes = _rows(
        """
        SELECT i.relname, a.attname
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
        LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
        WHERE NOT x.indisprimary
          AND EXISTS (SELECT 1 FROM pg_attribute ta WHERE ta.attrelid = t.oid AND ta.attname = 'tenant_id')
        """
    )
    assert indexes
    wrong = [index for index, first_column in indexes if first_column != "tenant_id"]
    assert wrong == [], "indexes and unique constraints on tenant tables must lead with tenant_id"


def test_raw_sql_under_tenant_b_sees_and_writes_nothing_of_a(org_a, org_b):
    with transaction.atomic(), tenant_context(org_b.tenant):
        seen = {row[0] for row in _rows("SELECT tenant_id FROM crm_membership")}
        assert seen == {org_b.tenant.pk}
        with pytest.raises(Exception, match="row-level security"), transaction.atomic():
            _rows(
                "INSERT INTO crm_membership (tenant_id, user_id, role, is_active, created_at)"
                " VALUES (%s, %s, 'admin', true, now())",
                [org_a.tenant.pk, org_b.rep.user_id],
            )
        updated = _rows(
            "UPDATE crm_membership SET role = 'admin' WHERE tenant_id = %s RETURNING id",
            [org_a.tenant.pk],
        )
        assert updated == []


def test_raw_sql_without_a_tenant_sees_and_writes_nothing(org_a):
    with transaction.atomic():
        assert _rows("SELECT count(*) FROM crm_membership")[0][0] == 0
        with pytest.raises(Exception, match="row-level security"), transaction.atomic():
            _rows(
                "INSERT INTO crm_membership (tenant_id, user_id, role, is_active, created_at)"
                " VALUES (%s, %s, 'admin', true, now())",
                [org_a.tenant.pk, org_a.rep.user_id],
            )


def test_the_tenant_setting_is_transaction_local(org_a):
    with transaction.atomic(), tenant_context(org_a.tenant):
        assert _rows("SELECT current_setting('app.tenant_id', true)")[0][0] == str(org_a.tenant.pk)
    assert _rows("SELECT current_setting('app.tenant_id', true)")[0][0] in ("", None)


@pytest.mark.django_db(transaction=True)
def test_setting_the_tenant_outside_a_transaction_is_refused(org_a):
    # In autocommit, set_config(..., true) would be dropped at once: fail loudly instead.
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match="inside a transaction"), tenant_context(org_a.tenant):
        pass


@pytest.mark.django_db(transaction=True)
def test_requests_leave_no_tenant_setting_on_the_connection(org_a, org_b):
    """A request for A then one for B on the same connection: nothing left behind."""
    for org in (org_a, org_b):
        response = org.client_for(org.admin).get(org.url("settings/members/"))
        assert response.status_code == 200
        assert _rows("SELECT current_setting('app.tenant_id', true)")[0][0] in ("", None)
        assert _rows("SELECT current_setting('app.user_id', true)")[0][0] in ("", None)


def test_a_lazy_template_response_renders_inside_the_tenant(org_a, org_b):
    """TemplateResponse renders after the view returns; the middleware still covers it."""
    template = engines["django"].from_string(
        "{% for m in members %}{{ m.user.email }};{% endfor %}"
    )

    def view(request):
        # The queryset is only evaluated when the template renders, after this returns.
        return TemplateResponse(
            request, template, {"members": Membership.objects.select_related("user")}
        )

    def get_response(request):
        return view(request).render()

    request = RequestFactory().get(org_a.url("settings/members/"))
    request.user = org_a.admin.user
    response = TenantMiddleware(get_response)(request)
    emails = response.content.decode()
    assert "admin@acme.test" in emails
    assert "globex" not in emails


def test_unique_constraints_include_the_tenant(org_a, org_b):
    """Integrity checks bypass policies: a constraint without tenant_id would leak existence."""
    constraints = _rows(
        """
        SELECT con.conname, pg_get_constraintdef(con.oid)
        FROM pg_constraint con
        JOIN pg_class t ON t.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
        WHERE con.contype = 'u'
          AND EXISTS (SELECT 1 FROM pg_attribute ta WHERE ta.attrelid = t.oid AND ta.attname = 'tenant_id')
        """
    )
    assert all("tenant_id" in definition for _, definition in constraints), constraints


def test_middleware_response_for_unknown_user_is_404(org_a, outsider):
    request = RequestFactory().get(org_a.url())
    request.user = outsider
    with pytest.raises(Exception) as excinfo:
        TenantMiddleware(lambda r: HttpResponse("secret"))(request)
    assert excinfo.typename == "Http404"
