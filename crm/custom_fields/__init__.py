"""Custom fields: the tenant's definitions, and the one place their values are typed.

Admins define fields per record type (`FieldDefinition`, screens in governance); records
keep the values in their `custom_fields` JSON under the field's key. Everything that
shows or takes a value asks this package, so a new field appears everywhere at once:

- definitions (`custom_fields.schema`): `definitions("contact")`, `definition`,
  `label("deal", key)`, and `forget_definitions()` after a change;
- values (`custom_fields.values`; `validate_values` and `display` are also here, since
  every app's services and record pages call them): `validate_values("contact", values,
  before=...)` types and checks the values of defined fields in the services (keys
  without a definition pass untouched: the API may store them, and a removed field keeps
  its values); `parse_text` reads spreadsheet text for imports; `display` and
  `export_value` for pages and exports;
- forms (`custom_fields.forms`): `add_form_fields(form, "contact", record.custom_fields)`
  adds one input per field (`custom__<key>`), and `form_values(form, current)` returns the
  merged JSON;
- list filters (`custom_fields.filters`): `add_filters(filterset, "contact")`;
- stage criteria: `criterion_choices()` (`custom:<key>`) and `label("deal", key)`.

Stored JSON per type: text, long text, single choice, URL and e-mail as strings; number
as a JSON number; money as a decimal string with two places ("1250.00"); date as
"YYYY-MM-DD"; yes/no as true/false; multiple choice as a list of option strings. A blank
value is not stored at all.
"""

from crm.custom_fields.schema import (
    CRITERION_PREFIX,
    KEY_RE,
    LONG_TEXT_MAX,
    PREFIX,
    RECORD_TYPES,
    TEXT_MAX,
    Type,
    criterion_choices,
    definition,
    definitions,
    forget_definitions,
    is_blank,
    label,
    required_keys,
)
from crm.custom_fields.values import display, validate_values

__all__ = [
    "CRITERION_PREFIX",
    "KEY_RE",
    "LONG_TEXT_MAX",
    "PREFIX",
    "RECORD_TYPES",
    "TEXT_MAX",
    "Type",
    "criterion_choices",
    "definition",
    "definitions",
    "display",
    "forget_definitions",
    "is_blank",
    "label",
    "required_keys",
    "validate_values",
]
