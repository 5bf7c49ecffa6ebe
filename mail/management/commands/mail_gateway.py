"""`manage.py mail_gateway`: receive the mail members forward or BCC to their workspace's
address (mail.gateway), on MAIL_GATEWAY_HOST:MAIL_GATEWAY_PORT, until interrupted."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from mail import gateway


class Command(BaseCommand):
    help = "Run the SMTP gateway for the workspaces' forward/BCC addresses until interrupted."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", help="Address to bind (default: MAIL_GATEWAY_HOST).")
        parser.add_argument("--port", type=int, help="Port (default: MAIL_GATEWAY_PORT).")

    def handle(self, *args, host: str | None = None, port: int | None = None, **options) -> None:
        host = host or settings.MAIL_GATEWAY_HOST
        port = port or settings.MAIL_GATEWAY_PORT
        stop = threading.Event()
        # `docker compose stop` sends SIGTERM; Ctrl-C raises KeyboardInterrupt.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        server = gateway.controller(host=host, port=port)
        server.start()
        self.stdout.write(
            f"Receiving mail for <slug>+<token>@{settings.MAIL_DOMAIN} on {host}:{port}; "
            "Ctrl-C stops.",
        )
        self.stdout.flush()
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            self.stdout.write("Mail gateway stopped.")
