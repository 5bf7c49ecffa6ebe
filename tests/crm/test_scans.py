import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from crm.models import Membership
from crm.scans import across_tenants, tenant_ids

ROOT = Path(settings.BASE_DIR)


@pytest.mark.django_db(transaction=True, databases=["default", "scanner"])
def test_a_scan_sees_every_tenant_while_the_app_sees_none(org_a, org_b, other_tenant):
    assert tenant_ids(Membership.unscoped.filter(role="rep")) == sorted(
        [org_a.tenant.pk, org_b.tenant.pk, other_tenant.tenant.pk]
    )
    assert across_tenants(Membership.unscoped.all()).count() == 8 + len(other_tenant.member_ids)


@pytest.mark.postgres
@pytest.mark.django_db(databases=["default", "scanner"])
def test_only_the_scanner_role_bypasses_row_level_security():
    def role(alias):
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            return cursor.fetchone()

    assert role("scanner") == (True, False), (
        "set DATABASE_SCANNER_URL to a BYPASSRLS, non-superuser role"
    )
    assert role("default") == (False, False)


def test_only_crm_scans_uses_the_scanner_connection():
    pattern = re.compile(
        r"""using\(\s*["']scanner["']|connections\[\s*["']scanner["']|\bSCANNER\b"""
    )
    offenders = []
    for app in ("crm", "contacts", "pipeline", "governance", "reporting", "api"):
        for path in (ROOT / app).rglob("*.py"):
            if path.name == "scans.py" and path.parent.name == "crm":
                continue
            if pattern.search(path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], "cross-tenant reads go through crm/scans.py only"
