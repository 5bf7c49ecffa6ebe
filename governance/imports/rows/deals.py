"""Deals from CSV rows: matched by name within their organization (or primary contact),
created and moved through the pipeline services so stage criteria apply.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from contacts.models import ChoiceList, Organization
from contacts.normalize import normalize_domain, normalize_email, organization_name_key
from contacts.selectors import contacts_by_email
from contacts.services.records import ORGANIZATION_FIELDS
from crm.custom_fields.values import parse_date
from governance.imports.rows.base import (
    CREATE,
    ERROR,
    UNCHANGED,
    UPDATE,
    ChunkResult,
    Importer,
    OrganizationLinker,
    Planned,
    Row,
    changed_values,
    error_text,
    same_text,
)
from pipeline import services as deal_services
from pipeline.models import Deal, Pipeline, Stage
from pipeline.services import StageCriteriaUnmet


class DealImporter(Importer):
    kind = "deals"
    model = Deal
    DATE_FIELDS = ("expected_close", "contract_start", "contract_end")
    MONEY_FIELDS = ("amount", "budget")
    TEXT_LIMITS = {"authority": 200, "need": 2000, "timeline": 200}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipelines = {p.name.casefold(): p for p in Pipeline.objects.all()}
        self.stages = list(Stage.objects.active().select_related("pipeline"))
        self.default_pipeline = next(
            (p for p in self.pipelines.values() if p.kind == Pipeline.Kind.SALES),
            next(iter(self.pipelines.values()), None),
        )

    def key(self, values: dict[str, str]) -> str:
        name = values.get("name", "").strip().casefold()
        if not name:
            return ""
        org = organization_name_key(values.get("organization", ""))
        return f"deal:{name}|{org or values.get('primary_contact', '').casefold()}"

    @staticmethod
    def money(text: str, p: Planned, label: str) -> Decimal | None:
        cleaned = "".join(c for c in text if c.isdigit() or c in ",.-")
        if "," in cleaned and "." in cleaned:
            thousands = "." if cleaned.rfind(",") > cleaned.rfind(".") else ","
            cleaned = cleaned.replace(thousands, "").replace(",", ".")
        elif cleaned.count(",") == 1 and len(cleaned.split(",")[1]) != 3:
            cleaned = cleaned.replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
        try:
            value = Decimal(cleaned).quantize(Decimal("0.01"))
        except InvalidOperation:
            p.refuse(f"{label} “{text}” is not an amount.")
            return None
        if value < 0 or value >= Decimal("1e12"):
            p.refuse(f"{label} “{text}” is out of range.")
            return None
        return value

    @staticmethod
    def day(text: str, p: Planned, label: str) -> date | None:
        parsed = parse_date(text.strip()) or text.strip()
        try:
            return date.fromisoformat(parsed)
        except ValueError:
            p.refuse(f"{label} “{text}” is not a date (write 2026-03-31).")
            return None

    def parse(self, row: Row) -> Planned:
        p = Planned(row)
        values = self.values(row)
        data: dict[str, Any] = {}
        if "name" in values:
            data["name"] = values["name"][:200]
        for name in self.MONEY_FIELDS:
            if name in values:
                data[name] = self.money(values[name], p, name.capitalize())
        for name in self.DATE_FIELDS:
            if name in values:
                data[name] = self.day(values[name], p, name.replace("_", " ").capitalize())
        if "currency" in values:
            data["currency"] = values["currency"].strip().upper()
        if "source" in values:
            data["source"] = self.choice(ChoiceList.LEAD_SOURCE, values["source"], p, "Source")
        for name, limit in self.TEXT_LIMITS.items():
            if name in values:
                if len(values[name]) > limit:
                    p.refuse(f"{name.capitalize()} is longer than {limit} characters.")
                data[name] = values[name]
        if "owner" in values:
            data["owner"] = self.owner(values["owner"], p)
        p.org_name = values.get("organization", "")
        p.org_domain = (
            normalize_domain(p.org_name) if "." in p.org_name and " " not in p.org_name else ""
        )
        data["_contact_email"] = normalize_email(values.get("primary_contact", ""))
        data["_pipeline"] = values.get("pipeline", "")
        data["_stage"] = values.get("stage", "")
        self.custom_values(values, p)
        p.data = {k: v for k, v in data.items() if v is not None}
        return p  # fmt: skip

    def stage_for(self, p: Planned) -> tuple[Pipeline | None, Stage | None]:
        pipeline_name, stage_name = p.data.pop("_pipeline", ""), p.data.pop("_stage", "")
        pipeline = self.default_pipeline
        if pipeline_name:
            pipeline = self.pipelines.get(pipeline_name.casefold())
            if pipeline is None:
                p.refuse(f"There is no pipeline named “{pipeline_name}”.")
                return None, None
        if pipeline is None:
            p.refuse("This workspace has no pipeline yet.")
            return None, None
        if not stage_name:
            return pipeline, None
        stage = next(
            (
                s
                for s in self.stages
                if s.pipeline_id == pipeline.pk and s.name.casefold() == stage_name.casefold()
            ),
            None,
        )
        if stage is None:
            p.refuse(f"{pipeline} has no stage named “{stage_name}”.")
        elif stage.is_terminal:
            p.refuse(
                f"Import open deals only; “{stage.name}” closes a deal (win or lose it in Keel)."
            )
            stage = None
        return pipeline, stage  # fmt: skip

    def plan(self, rows: list[Row]) -> list[Planned]:
        planned = [self.parse(r) for r in rows]
        self.mark_duplicates(planned, "deal name and organization")
        self.orgs = OrganizationLinker(self)
        self.orgs.load({p.org_name for p in planned}, {p.org_domain for p in planned})
        emails = {p.data.get("_contact_email") for p in planned} - {"", None}
        contacts = {c.email.lower(): c for c in contacts_by_email(emails)} if emails else {}
        names = {p.data.get("name", "") for p in planned} - {""}
        by_name: dict[str, list[Deal]] = defaultdict(list)
        if names:
            for deal in Deal.objects.filter(same_text("name", names)):
                by_name[deal.name.casefold()].append(deal)
        for p in planned:
            email = p.data.pop("_contact_email", "")
            pipeline, stage = self.stage_for(p)
            if p.action == ERROR:
                continue
            contact = contacts.get(email) if email else None
            if email and contact is None:
                p.refuse(f"No contact has the e-mail address {email}; import the contacts first.")
                continue
            if contact is not None:
                p.data["primary_contact"] = contact
            if not p.data.get("name"):
                p.refuse("Deal name is missing (map a name column).")
                continue
            if not p.org_name and contact is None:
                p.refuse("Link the deal to an organization or a primary contact (map one).")
                continue
            org = self.orgs.find(p.org_name, p.org_domain) if p.org_name else None
            same_name = by_name.get(p.data["name"].casefold(), [])
            if org is not None:
                candidates = [d for d in same_name if d.organization_id == org.pk]
            elif p.org_name:
                candidates = []  # its organization is new, so is the deal
            else:
                candidates = [d for d in same_name if d.primary_contact_id == contact.pk]
            if len(candidates) > 1:
                p.refuse(
                    f"{len(candidates)} deals are named {p.data['name']} here; the import "
                    "cannot tell which one to update."
                )
                continue
            p.data["_pipeline_obj"], p.data["_stage_obj"] = pipeline, stage
            if candidates:
                self.plan_update(p, candidates[0], org)
            else:
                self.check_required_custom(p, {})
                if p.action != ERROR:
                    p.action = CREATE
        return planned

    def plan_update(self, p: Planned, deal: Deal, org: Organization | None) -> None:
        p.record = deal
        stage = p.data.pop("_stage_obj", None)
        p.data.pop("_pipeline_obj", None)
        changes = changed_values(deal, p.data)
        if org is not None and org.pk != deal.organization_id:
            changes["organization"] = org
        merged = self.custom_changes(p, deal.custom_fields)
        if merged is not None:
            changes["custom_fields"] = merged
        self.check_required_custom(p, deal.custom_fields)
        if p.action == ERROR:
            return
        if stage is not None and stage.pk != deal.stage_id:
            if stage.pipeline_id != deal.pipeline_id:
                p.refuse(f"The deal is in {deal.pipeline}; “{stage.name}” is in another pipeline.")
                return
            changes["_move_to"] = stage
        p.changes = changes
        p.action = UPDATE if changes else UNCHANGED

    def apply(self, planned: list[Planned]) -> ChunkResult:
        for p in planned:
            if p.action == CREATE and p.org_name:
                p.data["organization"] = self.orgs.get_or_create(p.org_name, p.org_domain)
        orgs_created = self.orgs.save_created()
        for p in planned:
            if p.action != CREATE:
                continue
            data = dict(p.data)
            pipeline, stage = data.pop("_pipeline_obj"), data.pop("_stage_obj")
            if p.custom:
                data["custom_fields"] = p.custom
            try:
                with transaction.atomic():
                    p.record = deal_services.create_deal(
                        by=self.by, pipeline=pipeline, stage=stage, **data
                    )
            except StageCriteriaUnmet as exc:
                p.refuse(" ".join(u.label for u in exc.unmet))
            except (ValidationError, PermissionDenied) as exc:
                p.refuse(error_text(exc) if isinstance(exc, ValidationError) else str(exc))

        def update(p: Planned) -> None:
            changes = dict(p.changes)
            move_to = changes.pop("_move_to", None)
            if changes:
                deal_services.update_deal(p.record, by=self.by, **changes)
            if move_to is not None:
                try:
                    deal_services.move_deal(p.record, to_stage=move_to, by=self.by)
                except StageCriteriaUnmet as exc:
                    raise ValidationError(" ".join(u.label for u in exc.unmet)) from exc

        self.apply_updates(planned, update)
        result = self.result(planned)
        result.organizations_created = orgs_created
        return result  # fmt: skip

    def audit_created_orgs(self, orgs: list[Organization]) -> None:
        previous, self.model = self.model, Organization
        self.audit_created(orgs, ORGANIZATION_FIELDS)
        self.model = previous
