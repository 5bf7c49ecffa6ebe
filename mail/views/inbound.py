"""Pages of mail's inbound part (being built; see mail/views/__init__.py)."""

urlpatterns: list = []
