"""Organizations from CSV rows: matched by domain or else by normalized name."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts import services as contact_services
from contacts.models import ChoiceList, Organization
from contacts.normalize import normalize_domain, normalize_url, organization_name_key
from contacts.services.records import ORGANIZATION_FIELDS
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
)


class OrganizationImporter(Importer):
    kind = "organizations"
    model = Organization
    LIFECYCLES = Organization.Lifecycle.choices
    TEXT_LIMITS = {"street": 200, "postal_code": 20, "city": 100, "region": 100, "country": 100}

    def domain(self, values: dict[str, str]) -> str:
        return normalize_domain(values.get("domain", "")) or normalize_domain(
            values.get("website", "")
        )

    def key(self, values: dict[str, str]) -> str:
        domain = self.domain(values)
        if domain:
            return f"domain:{domain}"
        name_key = organization_name_key(values.get("name", ""))
        return f"name:{name_key}" if name_key else ""

    def parse(self, row: Row) -> Planned:
        p = Planned(row)
        values = self.values(row)
        data: dict[str, Any] = {}
        if "name" in values:
            data["name"] = values["name"][:200]
        domain = self.domain(values)
        if domain:
            data["domain"] = domain
        if "website" in values:
            data["website"] = normalize_url(values["website"])
        if "phone" in values:
            data["phone"] = self.phone(values["phone"], p)
        for list_name, label in (
            (ChoiceList.INDUSTRY, "Industry"),
            (ChoiceList.SIZE_BAND, "Company size"),
            (ChoiceList.REVENUE_RANGE, "Annual revenue"),
        ):
            if str(list_name) in values:
                data[str(list_name)] = self.choice(list_name, values[str(list_name)], p, label)
        if "lifecycle" in values:
            data["lifecycle"] = self.enum(self.LIFECYCLES, values["lifecycle"], p, "Lifecycle")
        if "owner" in values:
            data["owner"] = self.owner(values["owner"], p)
        for name, limit in self.TEXT_LIMITS.items():
            if name in values:
                if len(values[name]) > limit:
                    p.refuse(
                        f"{name.replace('_', ' ').capitalize()} is longer than {limit} characters."
                    )
                data[name] = values[name]
        self.custom_values(values, p)
        p.data = {k: v for k, v in data.items() if v is not None}
        return p  # fmt: skip

    def plan(self, rows: list[Row]) -> list[Planned]:
        planned = [self.parse(r) for r in rows]
        self.mark_duplicates(planned, "domain or name")
        self.orgs = OrganizationLinker(self)
        self.orgs.load(
            {p.data.get("name", "") for p in planned}, {p.data.get("domain", "") for p in planned}
        )
        for p in planned:
            if p.action == ERROR:
                continue
            existing = self.orgs.find(p.data.get("name", ""), p.data.get("domain", ""))
            if existing is None:
                if not p.data.get("name"):
                    p.refuse("Name is missing (map a name column).")
                    continue
                self.check_required_custom(p, {})
                if p.action != ERROR:
                    p.action = CREATE
                continue
            p.record = existing
            changes = changed_values(existing, p.data)
            merged = self.custom_changes(p, existing.custom_fields)
            if merged is not None:
                changes["custom_fields"] = merged
            self.check_required_custom(p, existing.custom_fields)
            if p.action != ERROR:
                p.changes = changes
                p.action = UPDATE if changes else UNCHANGED
        return planned  # fmt: skip

    def apply(self, planned: list[Planned]) -> ChunkResult:
        now = timezone.now()
        orgs = []
        for p in planned:
            if p.action != CREATE:
                continue
            org = Organization(
                tenant=self.tenant,
                name_key=organization_name_key(p.data["name"]),
                custom_fields=p.custom,
                created_by=self.by,
                updated_by=self.by,
                created_at=now,
                updated_at=now,
                **p.data,
            )
            try:
                org.clean_fields(
                    exclude=["tenant", "owner", "created_by", "updated_by", "merged_into"]
                )
            except ValidationError as exc:
                p.refuse(error_text(exc))
                continue
            p.record = org
            orgs.append(org)
        if orgs:
            Organization.objects.bulk_create(orgs, batch_size=1000)
            self.audit_created(orgs, ORGANIZATION_FIELDS)
        self.apply_updates(
            planned,
            lambda p: contact_services.update_organization(p.record, by=self.by, **p.changes),
        )
        return self.result(planned)  # fmt: skip

    def audit_created_orgs(self, orgs: list[Organization]) -> None:
        self.audit_created(orgs, ORGANIZATION_FIELDS)
