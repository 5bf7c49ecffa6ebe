from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py seed_demo` and its seeders, one module per app they fill. At the right
    end of the layering beside `benchmarks`: it imports every app; nothing imports it.
    No models."""

    name = "demo"
    verbose_name = "Demo workspace"
