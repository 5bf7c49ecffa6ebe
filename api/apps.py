from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self) -> None:
        # Webhook payloads show records exactly as the API does.
        from api import schema  # (its classes register the OpenAPI authentication schemes)
        from api.serializers import register_event_snapshots

        register_event_snapshots()
        schema.register_enum_names()
