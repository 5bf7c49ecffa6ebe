import pytest

from tests.mail.servers import Dovecot, available


@pytest.fixture(scope="session")
def dovecot():
    if not available():
        pytest.skip("Dovecot (dovecot-imapd) is not installed, or not running as root")
    server = Dovecot().start()
    yield server
    server.stop()
