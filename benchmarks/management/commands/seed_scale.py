"""manage.py seed_scale: a large tenant and many small ones, for `make bench`.

    python manage.py seed_scale                       # the full set (issue 10's sizes)
    python manage.py seed_scale --orgs 1000 --contacts 3000 --deals 1500 \\
        --activities 30000 --tasks 2000 --members 20 --small-tenants 10 --small-deals 100

Refuses when the bench tenant exists (drop the database, or use a fresh one, to
generate again). PostgreSQL only: the rows are generated inside the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from benchmarks.seed import Generator, Sizes, bench_tenant_exists, database_url


class Command(BaseCommand):
    help = "Generate benchmark data: a large tenant and many small ones (PostgreSQL)."

    def add_arguments(self, parser) -> None:
        defaults = Sizes()
        for name in (
            "orgs", "contacts", "deals", "activities", "tasks", "members",
            "small_tenants", "small_deals", "seed",
        ):  # fmt: skip
            parser.add_argument(
                f"--{name.replace('_', '-')}", dest=name, type=int, default=getattr(defaults, name)
            )
        parser.add_argument(
            "--part",
            choices=["all", "large", "small"],
            default="all",
            help="all: the large tenant here and the small ones in a second process, at once.",
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing (exit 0) when the data exists."
        )

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("seed_scale needs PostgreSQL (set DATABASE_URL).")
        part = options["part"]
        if part == "small":
            Generator(self._sizes(options), log=self.stdout.write).small()
            return
        if bench_tenant_exists():
            if options["if_missing"]:
                self.stdout.write("Benchmark data exists; nothing to do.")
                return
            raise CommandError(
                "The bench tenant exists already; drop the database (or use a fresh one) first."
            )
        sizes = self._sizes(options)
        if sizes.members < 2 or sizes.orgs < 1 or sizes.contacts < 1:
            raise CommandError("Need at least 2 members, 1 organization and 1 contact.")
        started = time.perf_counter()
        gen = Generator(sizes, log=self.stdout.write)
        self.stdout.write(f"Large tenant ({sizes})")
        # The small tenants are mostly round trips (each tenant's own setup): a second
        # process creates them while this one fills the large tenant inside the database.
        small = None
        if part == "all" and sizes.small_tenants:
            manage = str(Path(settings.BASE_DIR) / "manage.py")
            argv = [sys.executable, manage, "seed_scale", "--part", "small"]
            for key in Sizes.__dataclass_fields__:
                argv += [f"--{key.replace('_', '-')}", str(getattr(sizes, key))]
            env = {**os.environ, "DATABASE_URL": database_url()}
            small = subprocess.Popen(argv, env=env)  # noqa: S603 (this command, integer options)
        gen.large()
        if small is not None and small.wait() != 0:
            raise CommandError("Generating the small tenants failed (see above).")
        gen.analyze()
        self.stdout.write(f"Done in {time.perf_counter() - started:.1f} s.")

    @staticmethod
    def _sizes(options) -> Sizes:
        return Sizes(**{k: options[k] for k in Sizes.__dataclass_fields__})
