from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"

    def ready(self) -> None:
        # contacts cannot import pipeline; pipeline plugs deals into its pages instead.
        from contacts.search import register_search_provider
        from contacts.timeline import register_panel, register_timeline_provider
        from pipeline import search, timeline

        register_timeline_provider(timeline.stage_entries)
        register_panel("contact-detail", timeline.deals_panel)
        register_panel("organization-detail", timeline.deals_panel)
        register_panel("my-day", timeline.attention_panel)
        register_search_provider(search.deal_results)
