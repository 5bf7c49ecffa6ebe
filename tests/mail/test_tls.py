"""Mailboxes over TLS against the real Dovecot: IMAP over TLS and STARTTLS with a
certificate Keel is told to trust (MAIL_CA_FILE), and a clear refusal of one it is not."""

from __future__ import annotations

import pytest

from mail.services.sync import Account, MailboxError, check
from tests.mail.servers import PASSWORD


@pytest.fixture
def account(dovecot):
    return lambda port, security: Account("127.0.0.1", port, security, dovecot.new_user(), PASSWORD)


def test_imap_over_tls_and_starttls_log_in_with_the_trusted_certificate(dovecot, account, settings):
    settings.MAIL_CA_FILE = str(dovecot.ca_file)
    assert check(account(dovecot.ssl_port, "ssl")) == "Sent"
    assert check(account(dovecot.port, "starttls")) == "Sent"


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_certificate_keel_does_not_trust_is_refused_and_said_so(
    dovecot, account, settings, security
):
    settings.MAIL_CA_FILE = ""
    port = dovecot.ssl_port if security == "ssl" else dovecot.port
    with pytest.raises(MailboxError) as refused:
        check(account(port, security))
    assert "certificate is not trusted (self-signed certificate)" in str(refused.value)
    assert "MAIL_CA_FILE" in str(refused.value)
    assert ("secure connection" if security == "ssl" else "STARTTLS failed") in str(refused.value)
