from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from reporting.sql_functions import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="keel_reporting_sqlite")
