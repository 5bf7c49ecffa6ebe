from django.apps import AppConfig


class IntelligenceConfig(AppConfig):
    name = "intelligence"
    verbose_name = "Account intelligence"

    def ready(self) -> None:
        # contacts cannot import this app; it plugs into contacts' pages through their hooks.
        from contacts.filters import register_list_filter
        from contacts.timeline import register_panel
        from intelligence import panels

        register_panel("organization-detail", panels.account_panel)
        register_list_filter("organizations", "quadrant", panels.quadrant_filter)
