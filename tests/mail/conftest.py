import pytest

from tests.mail.servers import Dovecot, available
from tests.mail.smtp_sink import SmtpSink


@pytest.fixture(scope="session")
def dovecot():
    if not available():
        pytest.skip("Dovecot (dovecot-imapd) is not installed, or not running as root")
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_sink():
    """An aiosmtpd server on a free loopback port keeping every message it receives
    (`.received`) and each login (`.logins`); `smtp_sink.login = (user, password)` makes
    it refuse any other."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()
