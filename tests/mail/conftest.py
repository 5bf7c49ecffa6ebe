"""The mail tests' servers, `dovecot` (IMAP) and `smtp_sink` (SMTP), are fixtures of
tests/conftest.py: the browser journeys use them too."""
