"""Mailbox passwords, encrypted at rest with Fernet (the `cryptography` library).

`KEEL_MAIL_KEYS` holds one or more Fernet keys, comma-separated, the newest first: the
first encrypts, every one decrypts. To rotate, put a new key in front
(`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`),
restart, run `manage.py rotate_mail_keys` (re-encrypts every password with the first key),
then drop the old key. Unset, a key is derived from `DJANGO_SECRET_KEY`, which is enough
for `make run` and tests; production sets its own (see README, Mail and calendar).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class UnreadableSecret(Exception):
    """The stored password was encrypted with a key Keel no longer has."""


def _keys() -> list[Fernet]:
    configured = [k.strip() for k in settings.KEEL_MAIL_KEYS if k.strip()]
    if configured:
        return [Fernet(k.encode()) for k in configured]
    derived = hashlib.sha256(b"keel-mail:" + settings.SECRET_KEY.encode()).digest()
    return [Fernet(base64.urlsafe_b64encode(derived))]


def encrypt(plain: str) -> str:
    return MultiFernet(_keys()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return MultiFernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret(
            "The saved password cannot be read with the current keys; enter it again."
        ) from exc


def rotate(token: str) -> str:
    """The same secret, encrypted with the newest key."""
    try:
        return MultiFernet(_keys()).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableSecret("Encrypted with a key that is no longer configured.") from exc
