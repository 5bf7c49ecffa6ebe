"""`make bench` in miniature, so the benchmark never rots: seed_scale with tiny sizes,
then the runner in quick mode (2 requests per page, 2 s of load with 2 users on a real
gunicorn, the scans, the scorecard, a 30-row import); every measurement is reported."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "scanner"]),
]


def test_seed_scale_and_quick_bench_write_the_report(tmp_path):
    call_command(
        "seed_scale", orgs=20, contacts=60, deals=40, activities=400, tasks=30, members=4,
        small_tenants=2, small_deals=20, part="all", stdout=open("/dev/null", "w"),  # noqa: SIM115
    )  # fmt: skip
    call_command(
        "bench", quick=True, iterations=2, users=2, duration=2.0, workers=1, import_rows=30,
        mail_messages=40, out=tmp_path, stdout=open("/dev/null", "w"),  # noqa: SIM115
    )  # fmt: skip

    results = json.loads((tmp_path / "results.json").read_text())
    pages = {"board", "deal_list", "contact_timeline", "search", "manager_dashboard", "forecast"}
    assert set(results["pages"]) == pages
    for page in results["pages"].values():
        assert page["p50_ms"] > 0 and page["p95_ms"] >= page["p50_ms"]
        assert page["queries"] > 0 and page["server_to_sql_ratio"] is not None
    assert results["load"]["requests"] > 0 and results["load"]["errors"] == 0
    assert {"stale_deals", "reminders", "renewals"} <= set(results["scans"])
    assert results["scans"]["open_deals"] > 0
    assert results["scorecard"]["seconds"] > 0
    assert results["import"]["created"] == 30
    assert results["sizes"]["large_tenant"]["activities"] == 400
    assert results["sizes"]["small_tenants"] == 2
    mail = results["mail"]
    assert mail["first_sync_read"] == 40 and mail["first_sync_logged"] > 0 and not mail["error"]
    assert mail["incremental_read"] == 100 and mail["contact_page"]["queries"] > 0
    markdown = (tmp_path / "results.md").read_text()
    assert "| board |" in markdown and "stale-deal scan" in markdown and "first sync" in markdown
