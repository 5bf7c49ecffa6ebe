from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """`manage.py seed_scale` and `manage.py bench` (issue 10). The rightmost app: it may
    import every other app; nothing imports it. No models."""

    name = "benchmarks"
    verbose_name = "Benchmarks"
