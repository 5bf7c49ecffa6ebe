import pytest
from django.core.management import CommandError, call_command

from crm.models import Membership, Role, Tenant
from crm.tenancy import tenant_context


def test_create_tenant_makes_a_workspace_with_its_first_admin(db, capsys):
    call_command(
        "create_tenant",
        "initech",
        "--name",
        "Initech",
        "--admin-email",
        "Bill@Initech.test",
        "--admin-password",
        "tps-reports-2026",
        "--time-zone",
        "America/Chicago",
    )
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.time_zone == "America/Chicago"
    from django.db import transaction

    with transaction.atomic(), tenant_context(tenant):
        admin = Membership.objects.get()
    assert admin.role == Role.ADMIN and admin.user.email == "bill@initech.test"
    assert admin.user.check_password("tps-reports-2026")
    assert "Created Initech at /initech/" in capsys.readouterr().out


@pytest.mark.parametrize("slug,message", [("accounts", "reserved"), ("Bad Slug", "lowercase")])
def test_create_tenant_refuses_a_bad_slug_and_writes_nothing(db, slug, message):
    before = set(Tenant.objects.values_list("pk", flat=True))
    with pytest.raises(CommandError, match=message):
        call_command("create_tenant", slug, "--name", "X", "--admin-email", "x@x.test")
    assert set(Tenant.objects.values_list("pk", flat=True)) == before


def test_seed_demo_is_idempotent(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    tenant = Tenant.objects.get(slug="demo")
    from django.db import transaction

    with transaction.atomic(), tenant_context(tenant):
        roles = sorted(Membership.objects.values_list("role", flat=True))
    assert roles == ["admin", "manager", "rep", "rep"]
    assert "admin@demo.keel.test" in capsys.readouterr().out
