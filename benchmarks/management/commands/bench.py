"""manage.py bench: measure pages, load, scans, scorecard and import on seed_scale's data.

python manage.py bench                     # the full run of `make bench`
python manage.py bench --quick             # a few iterations, 2 s of load with 2 users
python manage.py bench --out DIR           # write results.json and results.md there
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from benchmarks.runner import Options, run
from benchmarks.seed import bench_tenant_exists


class Command(BaseCommand):
    help = "Benchmark Keel on the data of seed_scale; writes bench/results.json and .md."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--quick", action="store_true", help="Smoke run: small and short.")
        parser.add_argument("--iterations", type=int)
        parser.add_argument("--users", type=int)
        parser.add_argument("--duration", type=float, help="Seconds of load.")
        parser.add_argument("--workers", type=int, default=3, help="gunicorn workers.")
        parser.add_argument("--import-rows", type=int)
        parser.add_argument(
            "--mail-messages", type=int, help="Size of the synced mailbox (0: no mail bench)."
        )
        parser.add_argument("--no-load", action="store_true")
        parser.add_argument("--out", type=Path)

    def handle(self, *args, **o) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench needs PostgreSQL (set DATABASE_URL).")
        if not bench_tenant_exists():
            raise CommandError("No benchmark data: run `manage.py seed_scale` first.")
        quick = o["quick"]
        opts = Options(
            iterations=o["iterations"] or (3 if quick else 30),
            users=o["users"] or (2 if quick else 50),
            duration=o["duration"] or (2.0 if quick else 60.0),
            workers=o["workers"],
            import_rows=o["import_rows"]
            if o["import_rows"] is not None
            else (200 if quick else 100_000),
            mail_messages=o["mail_messages"]
            if o["mail_messages"] is not None
            else (100 if quick else 20_000),
        )
        if o["out"]:
            opts.out = o["out"]
        results = run(opts, load=not o["no_load"], log=self.stdout.write)
        missed = [v["what"] for v in results["verdicts"] if not v["pass"]]
        self.stdout.write(f"Report: {opts.out / 'results.md'} and {opts.out / 'results.json'}")
        if missed:
            self.stdout.write("Targets missed: " + "; ".join(missed))
