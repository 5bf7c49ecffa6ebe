"""Input validation for the pipeline pages. The services validate again and decide.

`deals` (a deal, a move, the board's filter), `config` (pipeline settings) and
`automations` (Settings → Automations); import the forms from here.
"""

from pipeline.forms.automations import AssignmentRuleForm, AutomationSettingsForm, CadenceStepForm
from pipeline.forms.config import (
    CriterionForm,
    LostReasonForm,
    PipelineForm,
    RottingForm,
    StageDeleteForm,
    StageForm,
)
from pipeline.forms.deals import (
    BoardFilterForm,
    DateInput,
    DealForm,
    MoveForm,
    contact_field,
    criterion_form_field,
    html_name,
    organization_field,
    stage_choices,
)

__all__ = [
    "AssignmentRuleForm",
    "AutomationSettingsForm",
    "BoardFilterForm",
    "CadenceStepForm",
    "CriterionForm",
    "DateInput",
    "DealForm",
    "LostReasonForm",
    "MoveForm",
    "PipelineForm",
    "RottingForm",
    "StageDeleteForm",
    "StageForm",
    "contact_field",
    "criterion_form_field",
    "html_name",
    "organization_field",
    "stage_choices",
]
