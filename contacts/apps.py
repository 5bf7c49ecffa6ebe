from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"

    def ready(self) -> None:
        # Search folds accents in SQL on both databases: PostgreSQL has the functions from
        # migration 0005, SQLite gets the same Python functions on every connection.
        from django.db.backends.signals import connection_created

        from contacts.search import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="contacts-search")
