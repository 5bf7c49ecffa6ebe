"""Pages under /<tenant>/mail/: the member's mailbox, conversations, attachments."""

from django.urls import path

from mail import views

app_name = "mail"

urlpatterns = [
    path("mail/mailbox/", views.mailbox, name="mailbox"),
    path("mail/mailbox/sync/", views.mailbox_sync, name="mailbox-sync"),
    path("mail/mailbox/disconnect/", views.mailbox_disconnect, name="mailbox-disconnect"),
    path("mail/threads/<int:pk>/", views.thread, name="thread"),
    path("mail/threads/<int:pk>/privacy/", views.thread_privacy, name="thread-privacy"),
    path("mail/attachments/<int:pk>/", views.attachment, name="attachment"),
]
