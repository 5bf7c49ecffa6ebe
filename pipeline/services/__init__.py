"""Every change to pipelines, stages and deals goes through these.

Each service takes the acting user as `by`, runs in one transaction, records an audit
event and refuses bad input with a ValidationError (field-keyed where it can be), writing
nothing. Stage criteria are checked here, so the board, the forms, imports and any API
obey them alike. Who may call what (reps change their own deals) is the views' job.
"""

from pipeline.services.common import DealChanged, StageCriteriaUnmet
from pipeline.services.config import (
    create_default_pipelines,
    create_lost_reason,
    create_pipeline,
    pipeline_settings,
    set_rotting_days,
    update_lost_reason,
    update_pipeline,
)
from pipeline.services.deal_tasks import create_deal_task
from pipeline.services.deals import (
    DEAL_FIELDS,
    create_deal,
    link_activity,
    log_deal_activity,
    lose_deal,
    move_deal,
    update_deal,
    win_deal,
)
from pipeline.services.stages import (
    add_criterion,
    create_stage,
    delete_stage,
    remove_criterion,
    reorder_stages,
    update_stage,
)

__all__ = [
    "DEAL_FIELDS",
    "DealChanged",
    "StageCriteriaUnmet",
    "add_criterion",
    "create_deal",
    "create_deal_task",
    "create_default_pipelines",
    "create_lost_reason",
    "create_pipeline",
    "create_stage",
    "delete_stage",
    "link_activity",
    "log_deal_activity",
    "lose_deal",
    "move_deal",
    "pipeline_settings",
    "remove_criterion",
    "reorder_stages",
    "set_rotting_days",
    "update_deal",
    "update_lost_reason",
    "update_pipeline",
    "update_stage",
    "win_deal",
]
