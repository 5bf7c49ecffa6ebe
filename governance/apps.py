from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self) -> None:
        # contacts cannot import governance; governance plugs consent into its pages.
        from contacts.timeline import register_panel
        from governance import panels

        register_panel("contact-detail", panels.consent_panel)
