"""Every verb the code records has words on the audit trail (crm.audit.VERBS), found by
reading the source: `verb=` arguments and `verb = …` assignments in every Keel app."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.apps import apps
from django.conf import settings

from crm.audit import VERBS, verb_label

ROOT = Path(settings.BASE_DIR)
VERB = re.compile(r"[a-z_]+\.[a-z_]+")
# Verbs built from the record's model name, and the records each is built for. A new one
# fails test_every_recorded_verb_has_words until it is listed here and its verbs in VERBS.
BUILT = {
    "{}.created": ["contact", "organization", "deal"],  # governance.imports.rows
    "{}.assigned": ["contact", "deal"],  # contacts.services.assignment
    "{}.owner_changed": ["contact", "organization"],  # contacts.services.records
    "{}.lifecycle_changed": ["contact", "organization"],
    "{}.merged": ["contact", "organization"],  # contacts.services.merge
    "{}.merged_into": ["contact", "organization"],
}


def _values(node: ast.expr) -> list[str]:
    """The verbs an expression can be: literals, both sides of `a if c else b`, and
    f-strings as templates with "{}" for each placeholder."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _values(node.body) + _values(node.orelse)
    if isinstance(node, ast.JoinedStr):
        return [
            "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
        ]
    return []  # a variable: its value is found where it is assigned or passed


def recorded_verbs() -> dict[str, str]:
    """{verb or template: where} for every verb in the apps' source (tests aside)."""
    found: dict[str, str] = {}
    for config in apps.get_app_configs():
        path = Path(config.path)
        if ROOT not in path.parents:
            continue  # Django's and third-party apps
        for source in path.rglob("*.py"):
            if "migrations" in source.parts:
                continue
            tree = ast.parse(source.read_text(), filename=str(source))
            for node in ast.walk(tree):
                exprs: list[ast.expr] = []
                if isinstance(node, ast.Call):
                    exprs += [k.value for k in node.keywords if k.arg == "verb"]
                elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "verb" for t in node.targets
                ):
                    exprs.append(node.value)
                for expr in exprs:
                    for value in _values(expr):
                        if VERB.fullmatch(value.replace("{}", "x")):
                            found[value] = f"{source.relative_to(ROOT)}:{expr.lineno}"
    return found


def test_the_scan_finds_the_verbs_services_record():
    found = recorded_verbs()
    assert {"deal.moved", "contact.created", "churn_risk.started", "saved_view.updated"} <= set(
        found
    )
    assert {"{}.owner_changed", "{}.merged"} <= set(found)


def test_every_recorded_verb_has_words():
    found = recorded_verbs()
    templates = {verb for verb in found if "{}" in verb}
    assert templates - set(BUILT) == set(), "list a built verb's records in BUILT"
    wanted = {verb for verb in found if "{}" not in verb}
    wanted |= {template.format(noun) for template in BUILT for noun in BUILT[template]}
    missing = {verb: found.get(verb, "built") for verb in wanted if verb not in VERBS}
    assert missing == {}, "add these verbs to crm.audit.VERBS"


def test_a_verb_without_words_reads_as_its_parts():
    assert verb_label("churn_risk.started") == "Churn risk flagged"
    assert verb_label("loyalty_score.recomputed") == "Loyalty score recomputed"
    assert verb_label("") == "Changed"
