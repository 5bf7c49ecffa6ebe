import pytest
from django.db import transaction

from crm.models import AuditEvent, Membership
from crm.tenancy import TenantNotSet, current_tenant_or_none, tenant_context


def test_the_scoped_manager_refuses_to_run_without_a_tenant(org_a):
    with pytest.raises(TenantNotSet):
        list(Membership.objects.all())
    with pytest.raises(TenantNotSet):
        AuditEvent.objects.count()


def test_the_scoped_manager_returns_only_the_current_tenants_rows(org_a, org_b):
    with org_a.activate():
        emails = set(Membership.objects.values_list("user__email", flat=True))
    assert emails == {"admin@acme.test", "manager@acme.test", "rep@acme.test", "rep2@acme.test"}


def test_the_unscoped_manager_adds_no_tenant_filter(org_a):
    assert "WHERE" not in str(Membership.unscoped.all().query)
    with org_a.activate():
        assert f'"tenant_id" = {org_a.tenant.pk}' in str(Membership.objects.all().query)


@pytest.mark.postgres
def test_the_unscoped_manager_is_still_behind_row_level_security(org_a, org_b):
    with org_a.activate():
        assert set(Membership.unscoped.values_list("tenant_id", flat=True)) == {org_a.tenant.pk}
    assert Membership.unscoped.count() == 0


def test_a_row_takes_the_current_tenant_and_cannot_be_saved_into_another(org_a, org_b):
    with org_a.activate():
        membership = Membership(user=org_b.rep.user)
        membership.save()
        assert membership.tenant_id == org_a.tenant.pk
    with org_b.activate():
        foreign = Membership.objects.get(pk=org_b.rep2.pk)
    with org_a.activate(), pytest.raises(ValueError, match="Cannot save a row of tenant"):
        foreign.save()


def test_the_context_is_restored_after_the_block_even_when_it_raises(org_a, org_b):
    with pytest.raises(ZeroDivisionError), transaction.atomic(), tenant_context(org_a.tenant):
        with tenant_context(org_b.tenant):
            assert current_tenant_or_none() == org_b.tenant
        assert current_tenant_or_none() == org_a.tenant
        1 / 0  # noqa: B018
    assert current_tenant_or_none() is None


def test_a_block_marked_for_rollback_is_left_quietly(org_a):
    """What the middlewares do on a 5xx: mark the transaction, then leave the tenant."""
    with transaction.atomic(), tenant_context(org_a.tenant):
        AuditEvent.objects.create(verb="test.rolled_back", target_type="x")
        transaction.set_rollback(True)
    assert current_tenant_or_none() is None
    with org_a.activate():
        assert not AuditEvent.objects.filter(verb="test.rolled_back").exists()


@pytest.mark.urls("tests.crm.urls_failing")
def test_a_server_error_rolls_back_what_the_request_wrote(org_a):
    client = org_a.client_for(org_a.admin)
    client.raise_request_exception = False
    response = client.get(org_a.url("fail/"))
    assert response.status_code == 500
    assert "Nothing you entered was half-saved" in response.content.decode()
    with org_a.activate():
        assert not AuditEvent.objects.filter(verb="test.half_written").exists()


def test_reps_may_change_only_what_they_own_managers_everything(org_a):
    class Record:
        def __init__(self, owner_id):
            self.owner_id = owner_id

    mine, theirs = Record(org_a.rep.user_id), Record(org_a.rep2.user_id)
    assert org_a.rep.can_edit(mine) and not org_a.rep.can_edit(theirs)
    assert org_a.manager.can_edit(theirs) and org_a.admin.can_edit(theirs)
    org_a.manager.is_active = False
    assert not org_a.manager.can_edit(theirs)


def test_requests_run_in_the_tenants_time_zone(org_a):
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.utils import timezone

    from crm.middleware import TenantMiddleware

    seen = {}

    def probe(request):
        seen["tz"] = timezone.get_current_timezone_name()
        return HttpResponse("ok")

    request = RequestFactory().get(org_a.url())
    request.user = org_a.rep.user
    TenantMiddleware(probe)(request)
    assert seen["tz"] == "Europe/Berlin"
    assert timezone.get_current_timezone_name() == "UTC"


def test_refused_htmx_forms_are_swapped_in_with_their_messages(org_a):
    html = org_a.client_for(org_a.rep).get(org_a.url()).content.decode()
    assert '{"code": "422", "swap": true}' in html
