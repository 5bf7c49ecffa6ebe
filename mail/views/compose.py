"""Pages of mail's compose part (being built; see mail/views/__init__.py)."""

urlpatterns: list = []
