"""Pages of mail's calendar part (being built; see mail/views/__init__.py)."""

urlpatterns: list = []
