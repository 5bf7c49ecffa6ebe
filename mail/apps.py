from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = "Mail and calendar"

    def ready(self) -> None:
        # contacts and pipeline cannot import mail; mail shows its conversations on their
        # timelines and pages.
        from contacts.timeline import register_panel, register_timeline_provider
        from mail import panels, timeline
        from pipeline.timeline import register_deal_timeline_provider

        register_timeline_provider(timeline.record_entries)
        register_deal_timeline_provider(timeline.deal_entries)
        register_panel("contact-detail", panels.contact_panel)
        register_panel("deal-detail", panels.deal_panel)
