"""Pages under /<tenant>/mail/: each part of mail lists its own (mail/views/)."""

from mail.views import calendar, compose, inbound, mailbox

app_name = "mail"

urlpatterns = [
    *mailbox.urlpatterns,
    *calendar.urlpatterns,
    *compose.urlpatterns,
    *inbound.urlpatterns,
]
