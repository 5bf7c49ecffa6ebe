# Long on purpose: the benchmark's stages in the order they run and are reported.
"""`make bench`: measure Keel on the data of `seed_scale` and write bench/results.{json,md}.

1. Pages, in this process through Django's test client: server time (p50/p95 over N warm
   requests), SQL query count and SQL time (summed by an execute wrapper), and the ratio
   server time ÷ SQL time (what the application adds on top of the database).
2. The same pages under load: gunicorn on 127.0.0.1:8018 and a bounded load generator
   (threads, one signed-in session, `--users` at once for `--duration` seconds, loopback
   only; it stops by itself): throughput, latency, errors.
3. Jobs: the stale-deal, reminder and renewal scans over every tenant (the query that finds
   tenants with due work, and queueing one task per tenant on the real broker, as beat
   does), one small tenant's stale-deal work; the scorecard of the large tenant; a
   CSV import of `--import-rows` contacts through governance's import service.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from benchmarks.mail import measure_mail
from benchmarks.seed import (
    LARGE_SLUG,
    MANAGER_EMAIL,
    SMALL_PREFIX,
    TIMELINE_CONTACT_EMAIL,
    database_url,
)
from contacts import tasks as contact_tasks
from contacts.models import Activity, Contact, Organization, Task
from crm.celery import app as celery_app
from crm.models import Membership, Role, Tenant, User
from crm.scans import across_tenants
from crm.tenancy import tenant_context
from governance.models import ImportJob
from pipeline import tasks as pipeline_tasks
from pipeline.models import Deal, Pipeline, Stage, StageTransition
from pipeline.services.stale import send_stale_alerts
from reporting.scorecards import compute_scorecard

PORT = 8018
TARGETS = {
    "page_p95_ms": 150.0,
    "load_errors": 0,
    "stale_scan_s": 30.0,
    "scorecard_s": 1.0,
    "import_s": 120.0,
    "mail_first_sync_s": 300.0,
    "mail_incremental_s": 5.0,
}


@dataclass
class Options:
    iterations: int = 30
    users: int = 50
    duration: float = 60.0
    workers: int = 3
    import_rows: int = 100_000
    mail_messages: int = 20_000
    out: Path = field(default_factory=lambda: Path(settings.BASE_DIR) / "bench")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class SqlTimer:
    """connection.execute_wrapper: counts queries and sums their time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.slowest: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.count += 1
            self.seconds += elapsed
            self.slowest.append((elapsed, sql))
            self.slowest = sorted(self.slowest, reverse=True)[:3]


# Pages ------------------------------------------------------------------------------


def page_urls() -> dict[str, str]:
    tenant = Tenant.objects.get(slug=LARGE_SLUG)
    with transaction.atomic(), tenant_context(tenant):
        sales = Pipeline.objects.filter(kind=Pipeline.Kind.SALES).order_by("position", "pk").first()
        stage = (
            Stage.objects.filter(pipeline=sales, kind=Stage.Kind.OPEN).order_by("position").first()
        )
        rep = (
            Membership.objects.filter(role=Role.REP)
            .order_by("pk")
            .values_list("user_id", flat=True)
        )[0]
        contact = Contact.objects.get(email=TIMELINE_CONTACT_EMAIL)
    kw = {"tenant_slug": LARGE_SLUG}
    return {
        "board": reverse("pipeline:board", kwargs=kw) + f"?pipeline={sales.pk}",
        "deal_list": reverse("pipeline:deal-list", kwargs=kw) + f"?owner={rep}&stage={stage.pk}",
        "contact_timeline": reverse("contacts:contact-detail", kwargs={**kw, "pk": contact.pk}),
        "search": reverse("contacts:search", kwargs=kw) + "?q=Person1234",
        "manager_dashboard": reverse("reporting:manager", kwargs=kw),
        "forecast": reverse("pipeline:forecast", kwargs=kw),
    }


def bench_user() -> User:
    return User.objects.get(email=MANAGER_EMAIL)


def measure_pages(urls: dict[str, str], iterations: int, log: Callable[[str], None]) -> dict:
    client = Client()
    client.force_login(bench_user())
    results = {}
    for name, url in urls.items():
        first = []
        for _ in range(2):  # warm-up: imports, template loading, the member's first request
            started = time.perf_counter()
            response = client.get(url)
            first.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {url} answered {response.status_code}")
        times, sql_times, counts = [], [], []
        slowest: list[tuple[float, str]] = []
        for _ in range(iterations):
            timer = SqlTimer()
            with connection.execute_wrapper(timer):
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {url} answered {response.status_code}")
            times.append(elapsed * 1000)
            sql_times.append(timer.seconds * 1000)
            counts.append(timer.count)
            slowest = sorted(slowest + timer.slowest, reverse=True)[:3]
        sql_p50 = statistics.median(sql_times)
        results[name] = {
            "url": url,
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(_pct(times, 0.95), 1),
            # The first request (cold: nothing cached yet), reported beside the warm ones.
            "first_ms": round(first[0], 1),
            "sql_p50_ms": round(sql_p50, 1),
            "queries": max(counts),
            "queries_min": min(counts),
            "server_to_sql_ratio": round(statistics.median(times) / sql_p50, 2)
            if sql_p50
            else None,
            "bytes": len(response.content),
            "slowest_sql": [{"ms": round(t * 1000, 1), "sql": s[:400]} for t, s in slowest],
        }
        log(
            f"  {name:<18} p50 {results[name]['p50_ms']:7.1f} ms  p95 {results[name]['p95_ms']:7.1f} ms"
            f"  {results[name]['queries']:3d} queries  SQL {sql_p50:6.1f} ms"
        )
    return results


# Load ---------------------------------------------------------------------------------


def _session_cookie() -> str:
    client = Client()
    client.force_login(bench_user())
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port}")


def run_load(urls: dict[str, str], opts: Options, log: Callable[[str], None]) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
    env.setdefault("DJANGO_STATIC_MANIFEST", "false")
    server = subprocess.Popen(  # noqa: S603 (gunicorn from this virtualenv, fixed arguments)
        [
            str(Path(sys.executable).with_name("gunicorn")), "crm.wsgi:application",
            "--bind", f"127.0.0.1:{PORT}", "--workers", str(opts.workers),
            "--timeout", "120", "--log-level", "warning",
        ],
        cwd=settings.BASE_DIR, env=env,
    )  # fmt: skip
    try:
        _wait_for_port(PORT)
        cookie = _session_cookie()
        names = list(urls)
        lock = threading.Lock()
        per_page: dict[str, list[float]] = {n: [] for n in names}
        errors: list[str] = []
        deadline = time.monotonic() + opts.duration

        def user(index: int) -> None:
            i = index
            while time.monotonic() < deadline:
                name = names[i % len(names)]
                i += 1
                started = time.perf_counter()
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
                    conn.request("GET", urls[name], headers={"Cookie": cookie})
                    response = conn.getresponse()
                    response.read()
                    conn.close()
                    ok = response.status == 200
                    problem = f"{name}: HTTP {response.status}"
                except OSError as exc:
                    ok, problem = False, f"{name}: {exc!r}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if ok:
                        per_page[name].append(elapsed)
                    else:
                        errors.append(problem)

        started = time.monotonic()
        threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(opts.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=opts.duration + 90)
        wall = time.monotonic() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    every = [t for values in per_page.values() for t in values]
    result = {
        "users": opts.users,
        "duration_s": round(wall, 1),
        "workers": opts.workers,
        "requests": len(every) + len(errors),
        "errors": len(errors),
        "error_samples": errors[:5],
        "throughput_rps": round((len(every) + len(errors)) / wall, 1),
        "p50_ms": round(_pct(every, 0.5), 1),
        "p95_ms": round(_pct(every, 0.95), 1),
        "pages": {
            n: {
                "requests": len(v),
                "p50_ms": round(_pct(v, 0.5), 1),
                "p95_ms": round(_pct(v, 0.95), 1),
            }
            for n, v in per_page.items()
        },
    }
    log(
        f"  {opts.users} users, {result['duration_s']} s: {result['requests']} requests, "
        f"{result['throughput_rps']} req/s, p95 {result['p95_ms']} ms, {result['errors']} errors"
    )
    return result


# Jobs -----------------------------------------------------------------------------------


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return round(time.perf_counter() - started, 3), value


def measure_scans(log: Callable[[str], None]) -> dict:
    """Each scan as beat runs it: the cross-tenant query and one task queued per tenant
    (on the real broker; the queue is purged afterwards, no worker runs here)."""
    open_deals = across_tenants(Deal.unscoped.filter(status=Deal.Status.OPEN)).count()
    results: dict[str, Any] = {"open_deals": open_deals}
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        for name, scan in [
            ("stale_deals", pipeline_tasks.scan_stale_deals),
            ("reminders", contact_tasks.scan_task_reminders),
            ("renewals", pipeline_tasks.scan_renewals),
        ]:
            seconds, queued = _timed(scan)
            results[name] = {"seconds": seconds, "tenants_queued": queued}
            log(f"  scan {name:<12} {seconds:7.2f} s  ({queued} tenants with due work)")
        celery_app.control.purge()
    finally:
        celery_app.conf.task_always_eager = eager
    # One small tenant's stale-deal work (what a worker does per queued task).
    small = Tenant.objects.filter(slug__startswith=SMALL_PREFIX).order_by("slug").first()
    if small is not None:
        with transaction.atomic(), tenant_context(small):
            seconds, sent = _timed(lambda: send_stale_alerts(now=timezone.now()))
        results["stale_tenant_work"] = {"seconds": seconds, "alerts": sent, "tenant": small.slug}
        log(f"  stale work, one small tenant {seconds:.2f} s ({sent} alerts)")
    return results


def measure_scorecard(log: Callable[[str], None]) -> dict:
    tenant = Tenant.objects.get(slug=LARGE_SLUG)
    today = date.today()
    end = today.replace(day=1)
    start = (end - timedelta(days=1)).replace(day=1)
    runs = []
    for _ in range(3):
        with transaction.atomic(), tenant_context(tenant):
            seconds, _ = _timed(lambda: compute_scorecard(tenant, start=start, end=end))
        runs.append(seconds)
    log(f"  scorecard {start}..{end}: {min(runs):.2f} s (best of 3), {max(runs):.2f} s worst")
    return {"seconds": max(runs), "best_s": min(runs), "period": [str(start), str(end)]}


def measure_import(rows: int, log: Callable[[str], None]) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="keel-bench-"))
    path = folder / "contacts.csv"
    stamp = int(time.time())
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["First name", "Last name", "E-mail", "Phone", "Job title", "Company"])
        for i in range(rows):
            writer.writerow(
                [f"Imported{i}", f"Lead{stamp}", f"import{stamp}.{i}@leads{i % 500}.example",
                 f"+4930{i % 10_000_000:07d}", "Buyer", f"Company {i % 5000}"]
            )  # fmt: skip
    started = time.perf_counter()
    status = 0
    try:
        call_command("import_csv", str(path), tenant=LARGE_SLUG, kind="contacts", stdout=_Null())
    except SystemExit as exc:  # exits 1 when rows were refused
        status = int(exc.code or 0)
    seconds = round(time.perf_counter() - started, 2)

    tenant = Tenant.objects.get(slug=LARGE_SLUG)
    with transaction.atomic(), tenant_context(tenant):
        job = ImportJob.objects.order_by("-pk").first()
        summary = {
            "created": job.rows_created,
            "updated": job.rows_updated,
            "refused": job.rows_failed,
            "status": job.status,
        }
    log(f"  import {rows} rows: {seconds:.1f} s {summary}")
    return {"rows": rows, "seconds": seconds, "exit_status": status, **summary}


class _Null:
    def write(self, *args, **kwargs) -> None:
        pass

    def flush(self) -> None:
        pass


# Report --------------------------------------------------------------------------------


def sizes() -> dict:
    large = Tenant.objects.get(slug=LARGE_SLUG)

    def count(model, **f) -> int:
        return across_tenants(model.unscoped.filter(**f)).count()

    return {
        "large_tenant": {
            "organizations": count(Organization, tenant=large),
            "contacts": count(Contact, tenant=large),
            "deals": count(Deal, tenant=large),
            "stage_transitions": count(StageTransition, tenant=large),
            "activities": count(Activity, tenant=large),
            "tasks": count(Task, tenant=large),
            "members": across_tenants(Membership.unscoped.filter(tenant=large)).count(),
        },
        "small_tenants": Tenant.objects.filter(slug__startswith=SMALL_PREFIX).count(),
        "open_deals_all_tenants": count(Deal, status="open"),
    }


def verdicts(results: dict) -> list[dict]:
    rows = []
    for name, page in results["pages"].items():
        rows.append(
            {"what": f"{name} p95", "target": "≤ 150 ms", "measured": f"{page['p95_ms']} ms",
             "pass": page["p95_ms"] <= TARGETS["page_p95_ms"]}
        )  # fmt: skip
    load = results.get("load")
    if load:
        rows.append(
            {"what": "errors under load", "target": "0", "measured": str(load["errors"]),
             "pass": load["errors"] == 0}
        )  # fmt: skip
    scans = results["scans"]
    rows.append(
        {"what": f"stale-deal scan ({scans['open_deals']:,} open deals)", "target": "≤ 30 s",
         "measured": f"{scans['stale_deals']['seconds']} s",
         "pass": scans["stale_deals"]["seconds"] <= TARGETS["stale_scan_s"]}
    )  # fmt: skip
    rows.append(
        {"what": "scorecard (large tenant)", "target": "≤ 1 s",
         "measured": f"{results['scorecard']['seconds']} s",
         "pass": results["scorecard"]["seconds"] <= TARGETS["scorecard_s"]}
    )  # fmt: skip
    imp = results.get("import")
    if imp:
        rows.append(
            {"what": f"import of {imp['rows']:,} rows", "target": "≤ 120 s",
             "measured": f"{imp['seconds']} s", "pass": imp["seconds"] <= TARGETS["import_s"]}
        )  # fmt: skip
    mail = results.get("mail")
    if mail:
        page = mail["contact_page"]
        rows += [
            {"what": f"first sync of a {mail['messages']:,}-message mailbox", "target": "≤ 5 min",
             "measured": f"{mail['first_sync_s']} s",
             "pass": mail["first_sync_s"] <= TARGETS["mail_first_sync_s"] and not mail["error"]},
            {"what": f"incremental sync ({mail['incremental_read']} new)", "target": "≤ 5 s",
             "measured": f"{mail['incremental_s']} s",
             "pass": mail["incremental_s"] <= TARGETS["mail_incremental_s"]},
            {"what": "contact page with its e-mails, p95", "target": "≤ 150 ms",
             "measured": f"{page['p95_ms']} ms ({page['queries']} queries)",
             "pass": page["p95_ms"] <= TARGETS["page_p95_ms"]},
        ]  # fmt: skip
    return rows


def cpu_check_ms() -> float:
    """The time of a fixed piece of pure Python: the same machine is not always as fast (its
    CPUs are shared), and pages are mostly Python, so this says how fast it was just then."""
    started = time.perf_counter()
    total = 0
    for i in range(CPU_CHECK_LOOPS):
        total += i
    return round((time.perf_counter() - started) * 1000, 1)


CPU_CHECK_LOOPS = 5_000_000


def markdown(results: dict) -> str:
    lines = [
        "# Keel benchmark results",
        "",
        f"Run {results['started']} on {results['machine']} ({results['cpus']} CPUs); "
        f"mode `{results['mode']}`. Reproduce with `make bench` (see README).",
        "",
        "Machine load (1-minute load average, from `os.getloadavg()`; the 2 CPUs are shared "
        "with other work, so times are those of a busy machine): "
        + ", ".join(f"{k} {v}" for k, v in results.get("load_average", {}).items())
        + ". CPU check (a fixed 5,000,000-step Python loop, ms; lower is a faster machine at "
        "that moment; compare runs by it): "
        + ", ".join(f"{k} {v}" for k, v in results.get("cpu_check_ms", {}).items())
        + ".",
        "",
        "Data: "
        + ", ".join(
            f"{k.replace('_', ' ')} {v:,}" for k, v in results["sizes"]["large_tenant"].items()
        )
        + f" in the large tenant; {results['sizes']['small_tenants']:,} small tenants; "
        f"{results['sizes']['open_deals_all_tenants']:,} open deals in all.",
        "",
        "## Targets",
        "",
        "| what | target | measured | |",
        "|---|---|---|---|",
    ]
    for row in results["verdicts"]:
        lines.append(
            f"| {row['what']} | {row['target']} | {row['measured']} | {'pass' if row['pass'] else '**MISS**'} |"
        )
    lines += [
        "",
        f"## Pages (in-process, {results['iterations']} warm requests each)",
        "",
        "| page | p50 ms | p95 ms | queries | SQL p50 ms | server ÷ SQL | first request ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, p in results["pages"].items():
        lines.append(
            f"| {name} | {p['p50_ms']} | {p['p95_ms']} | {p['queries']} | {p['sql_p50_ms']} | {p['server_to_sql_ratio']} | {p.get('first_ms', '')} |"
        )
    lines += [
        "",
        "The first request of each page is its cold time (the team dashboard keeps its "
        "figures for 5 minutes, so only its first view computes them).",
    ]
    load = results.get("load")
    if load:
        lines += [
            "",
            f"## Under load ({load['users']} users, {load['duration_s']} s, gunicorn with {load['workers']} sync workers on loopback)",
            "",
            f"{load['requests']:,} requests, **{load['throughput_rps']} req/s**, p50 {load['p50_ms']} ms, "
            f"p95 {load['p95_ms']} ms, **{load['errors']} errors**. The load generator runs on the same "
            "2 CPUs as the server, so latency here is mostly queueing: 50 users share "
            f"{load['workers']} workers.",
            "",
            "| page | requests | p50 ms | p95 ms |",
            "|---|---|---|---|",
        ]
        for name, p in load["pages"].items():
            lines.append(f"| {name} | {p['requests']} | {p['p50_ms']} | {p['p95_ms']} |")
    scans = results["scans"]
    lines += [
        "",
        "## Jobs",
        "",
        "| job | seconds | detail |",
        "|---|---|---|",
    ]
    for name in ("stale_deals", "reminders", "renewals"):
        lines.append(
            f"| {name} scan over all tenants | {scans[name]['seconds']} | {scans[name]['tenants_queued']} tenants queued |"
        )
    if "stale_tenant_work" in scans:
        w = scans["stale_tenant_work"]
        lines.append(
            f"| stale-deal work of one small tenant | {w['seconds']} | {w['alerts']} alerts |"
        )
    sc = results["scorecard"]
    lines.append(
        f"| scorecard, large tenant, {sc['period'][0]}..{sc['period'][1]} | {sc['seconds']} | worst of 3 (best {sc['best_s']}) |"
    )
    imp = results.get("import")
    if imp:
        lines.append(
            f"| CSV import, {imp['rows']:,} contacts | {imp['seconds']} | {imp['created']} created, {imp['updated']} updated, {imp['refused']} refused |"
        )
    mail = results.get("mail")
    if mail:
        page = mail["contact_page"]
        lines += [
            "",
            f"## Mail ({mail['messages']:,}-message mailbox on a local Dovecot)",
            "",
            "| what | s | notes |",
            "|---|---|---|",
            f"| filling the mailbox (IMAP APPEND) | {mail['append_s']} | not Keel's time |",
            f"| first sync | {mail['first_sync_s']} | {mail['first_sync_read']:,} read, {mail['first_sync_logged']:,} logged (the rest are with people Keel does not know) |",
            f"| incremental sync | {mail['incremental_s']} | {mail['incremental_read']} new, {mail['incremental_logged']} logged |",
            "",
            f"Contact page of the customer with the most e-mails: p50 {page['p50_ms']} ms, p95 "
            f"{page['p95_ms']} ms, {page['queries']} queries (SQL p50 {page['sql_p50_ms']} ms).",
        ]
    lines += ["", "Findings and EXPLAIN notes: `bench/NOTES.md`.", ""]
    return "\n".join(lines)


def run(opts: Options, *, load: bool = True, log: Callable[[str], None] = print) -> dict:
    results: dict[str, Any] = {
        "started": timezone.now().isoformat(timespec="seconds"),
        "machine": platform.node() or "this machine",
        "cpus": os.cpu_count(),
        "mode": "full" if opts.iterations >= 30 else "quick",
        "iterations": opts.iterations,
        "targets": TARGETS,
    }
    loadavg: dict[str, float] = {}
    results["load_average"] = loadavg

    speed: dict[str, float] = {}
    results["cpu_check_ms"] = speed

    def note_load(when: str) -> None:
        loadavg[when] = round(os.getloadavg()[0], 2)
        speed[when] = cpu_check_ms()

    note_load("start")
    results["sizes"] = sizes()
    log("Pages")
    urls = page_urls()
    results["pages"] = measure_pages(urls, opts.iterations, log)
    note_load("after pages")
    if load:
        log("Under load")
        results["load"] = run_load(urls, opts, log)
        note_load("after load")
    log("Jobs")
    results["scans"] = measure_scans(log)
    results["scorecard"] = measure_scorecard(log)
    note_load("after scans and scorecard")
    if opts.import_rows:
        results["import"] = measure_import(opts.import_rows, log)
        note_load("after import")
    if opts.mail_messages:
        log("Mail")
        results["mail"] = mail = measure_mail(opts.mail_messages, log)
        mail["contact_page"] = measure_pages(
            {"contact_emails": mail["contact_url"]}, opts.iterations, log
        )["contact_emails"]
        note_load("after mail")
    results["verdicts"] = verdicts(results)
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (opts.out / "results.md").write_text(markdown(results))
    return results
