from django.urls import path

from pipeline.views import automations, board, config, deals, forecast

app_name = "pipeline"

urlpatterns = [
    path("deals/", deals.deal_list, name="deal-list"),
    path("deals/board/", board.board, name="board"),
    path("deals/board/stages/<int:pk>/", board.board_column, name="board-column"),
    path("deals/new/", deals.deal_create, name="deal-create"),
    path("deals/<int:pk>/", deals.deal_detail, name="deal-detail"),
    path("deals/<int:pk>/edit/", deals.deal_edit, name="deal-edit"),
    path("deals/<int:pk>/move/", board.deal_move, name="deal-move"),
    path("deals/<int:pk>/log/", deals.deal_log, name="deal-log"),
    path("deals/<int:pk>/tasks/new/", deals.deal_task_create, name="deal-task-create"),
    path("forecast/", forecast.forecast, name="forecast"),
    path("settings/pipelines/", config.pipeline_settings, name="pipeline-settings"),
    path("settings/pipelines/new/", config.pipeline_create, name="pipeline-create"),
    path("settings/pipelines/<int:pk>/", config.pipeline_edit, name="pipeline-edit"),
    path("settings/pipelines/<int:pk>/stages/new/", config.stage_create, name="stage-create"),
    path("settings/pipelines/<int:pk>/stages/order/", config.stage_reorder, name="stage-reorder"),
    path("settings/stages/<int:pk>/", config.stage_edit, name="stage-edit"),
    path("settings/stages/<int:pk>/delete/", config.stage_delete, name="stage-delete"),
    path("settings/stages/<int:pk>/criteria/new/", config.criterion_add, name="criterion-add"),
    path("settings/criteria/<int:pk>/delete/", config.criterion_delete, name="criterion-delete"),
    path("settings/lost-reasons/", config.lost_reasons, name="lost-reasons"),
    path("settings/lost-reasons/<int:pk>/", config.lost_reason_edit, name="lost-reason-edit"),
]

# Settings → Automations keeps its own namespace ("automations:index"…); crm/tenant_urls.py
# mounts it under settings/automations/.
automation_urls = (
    [
        path("", automations.automation_index, name="index"),
        path("cadences/new/", automations.cadence_add, name="cadence-add"),
        path("cadences/<int:pk>/delete/", automations.cadence_delete, name="cadence-delete"),
        path("rules/new/", automations.rule_create, name="rule-create"),
        path("rules/<int:pk>/", automations.rule_edit, name="rule-edit"),
        path("rules/<int:pk>/delete/", automations.rule_delete, name="rule-delete"),
    ],
    "automations",
)
