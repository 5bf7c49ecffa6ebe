"""A throwaway Dovecot (Debian's dovecot-imapd) on a free loopback port, with its own
configuration, users and maildirs in a temporary folder: the IMAP server of the mail
tests and of the benchmark's mailbox sync (benchmarks/mail.py). Never used by Keel itself.

Needs the package and root (Dovecot drops to its own users); `.ci/run` and `make test`
install it. Each caller takes an account of its own (`Dovecot.new_user()`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
# Every account's password: a loopback server of throwaway accounts.
PASSWORD = "app-password-1"  # noqa: S105 (throwaway accounts on loopback)
USERS = ("rep",)
POOL = 2000

CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 0
mail_uid = dovecot
mail_gid = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> bool:
    return os.path.exists(DOVECOT) and os.geteuid() == 0


class Dovecot:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="keel-dovecot-"))
        self.port = free_port()  # plain IMAP, STARTTLS offered
        self.ssl_port = free_port()  # IMAP over TLS
        # A self-signed certificate for 127.0.0.1: clients trust it through this file
        # (Keel: MAIL_CA_FILE).
        self.ca_file = self.root / "cert.pem"
        self._ids = itertools.count(1)
        self.process: subprocess.Popen | None = None

    def start(self) -> Dovecot:
        self.root.chmod(0o755)  # Dovecot's auth and mail processes run as its own users
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir()
        shutil.chown(self.root / "mail", "dovecot", "dovecot")
        # Every account up front: Dovecot reads its passwd-file again only when the file's
        # mtime (in seconds) changes, so users added later within a second go unseen.
        (self.root / "users").write_text(
            "".join(
                f"{name}{i}@mail.test:{{PLAIN}}{PASSWORD}\n"
                for name in USERS
                for i in range(1, POOL + 1)
            )
        )
        subprocess.run(  # noqa: S603
            [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(self.root / "key.pem"), "-out", str(self.ca_file)],
            check=True, capture_output=True,
        )  # fmt: skip
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, port=self.port, ssl_port=self.ssl_port))
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)])  # noqa: S603
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        log = (
            (self.root / "dovecot.log").read_text() if (self.root / "dovecot.log").exists() else ""
        )
        raise RuntimeError(f"Dovecot did not start on port {self.port}: {log}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def new_user(self, name: str = "rep") -> str:
        """An account no test has used (empty INBOX and Sent), password PASSWORD."""
        number = next(self._ids)
        if number > POOL or name not in USERS:
            raise RuntimeError(f"Only {POOL} accounts named {USERS}; raise POOL.")
        return f"{name}{number}@mail.test"

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user, PASSWORD)
        return client

    def append(self, user: str, raw: bytes | EmailMessage, folder: str = "INBOX") -> None:
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
        with self.client(user) as client:
            client.append(folder, data)
