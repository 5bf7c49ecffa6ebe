"""/feeds/calendar/…: members' private ICS feeds, outside the tenant's URLs (a calendar
app fetches them without a session; the token in the URL is the key)."""

from mail.views.calendar import feed_urlpatterns

urlpatterns = feed_urlpatterns
