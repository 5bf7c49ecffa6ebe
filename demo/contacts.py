"""Demo data for `manage.py seed_demo`: a year of a small sales team's work.

A few hundred organizations and their people, thousands of calls, e-mails, meetings and
notes, and the tasks that followed them, spread over the last twelve months; the demo
rep's day has overdue tasks, tasks due today and tomorrow. Rows go in with bulk_create
(audit events are not written for made-up history). Runs once: a demo tenant that already
has organizations is left alone.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import TextIO

from django.utils import timezone

from contacts.models import Activity, Contact, Organization, RecentRecord, Task
from contacts.normalize import organization_name_key
from crm.models import Membership, Tenant

SEED = 2026
ORGANIZATIONS = 220

_PREFIXES = [
    "Northwind", "Bluewater", "Kestrel", "Lumen", "Granite", "Silverline", "Brightpath", "Oakridge",
    "Harbor", "Nordlicht", "Alpenrose", "Cobalt", "Meridian", "Sonnenfeld", "Ironbridge", "Tidewell",
    "Falkenstein", "Polaris", "Quartz", "Riverside", "Summit", "Vantage", "Westbrook", "Zephyr",
    "Aurora", "Bergmann", "Clearwater", "Delta", "Elbe", "Fjord", "Greenfield", "Hanse", "Isar",
    "Juniper", "Kraft", "Lindgren", "Mosel", "Nova", "Orion", "Pinewood", "Rhein", "Stellar",
    "Tannen", "Unity", "Vega", "Weiss", "Acorn", "Beacon", "Cedar", "Drift",
]  # fmt: skip
_TRADES = [
    ("Logistics", "logistics"), ("Analytics", "software"), ("Software", "software"),
    ("Manufacturing", "manufacturing"), ("Health", "healthcare"), ("Retail", "retail"),
    ("Capital", "financial_services"), ("Energy", "energy"), ("Media", "media"),
    ("Consulting", "professional_services"), ("Foods", "retail"), ("Labs", "healthcare"),
    ("Systems", "software"), ("Bau", "construction"), ("Hotels", "hospitality"),
    ("Learning", "education"), ("Freight", "logistics"), ("Robotics", "manufacturing"),
    ("Insurance", "financial_services"), ("Solar", "energy"),
]  # fmt: skip
_FORMS = ["", "", "GmbH", "AG", "Ltd", "Inc.", "B.V.", "SE", "S.A.", "AB"]
_PLACES = [
    ("Berlin", "10115", "Germany", "de"), ("Munich", "80331", "Germany", "de"),
    ("Hamburg", "20095", "Germany", "de"), ("Cologne", "50667", "Germany", "de"),
    ("Vienna", "1010", "Austria", "at"), ("Zurich", "8001", "Switzerland", "ch"),
    ("Amsterdam", "1012", "Netherlands", "nl"), ("Paris", "75002", "France", "fr"),
    ("London", "EC1A", "United Kingdom", "co.uk"), ("Dublin", "D02", "Ireland", "ie"),
    ("Stockholm", "111 20", "Sweden", "se"), ("Copenhagen", "1050", "Denmark", "dk"),
    ("Madrid", "28013", "Spain", "es"), ("Milan", "20121", "Italy", "it"),
    ("Warsaw", "00-001", "Poland", "pl"), ("Prague", "110 00", "Czechia", "cz"),
]  # fmt: skip
_STREETS = [
    "Hauptstraße",
    "Market Street",
    "Kanalweg",
    "Rue de la Paix",
    "Bahnhofstraße",
    "Harbour Road",
    "Lindenallee",
    "Parkweg",
]
_FIRST = [
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hannah", "Ivan", "Julia", "Karl",
    "Laura", "Marco", "Nina", "Oskar", "Paula", "Quentin", "Rosa", "Sven", "Tara", "Uwe", "Vera",
    "Wim", "Xenia", "Yusuf", "Zoe", "Amelie", "Bastian", "Chiara", "Dominik", "Emma", "Fabian",
    "Ines", "Jonas", "Katrin", "Lukas", "Mia", "Niklas", "Olivia", "Pedro", "Sofia", "Tobias",
    "Lea", "Mateo", "Noah", "Ingrid", "Henrik", "Aisha", "Priya", "Kenji",
]  # fmt: skip
_LAST = [
    "Schmidt", "Müller", "Becker", "Fischer", "Weber", "Wagner", "Hoffmann", "Koch", "Richter",
    "Klein", "Wolf", "Neumann", "Schwarz", "Braun", "Zimmermann", "Krüger", "Hartmann", "Lange",
    "Jansen", "de Vries", "Dubois", "Moreau", "Rossi", "Bianchi", "García", "López", "Novak",
    "Kowalski", "Andersson", "Nielsen", "O'Brien", "Murphy", "Smith", "Taylor", "Brown", "Walsh",
    "Lindqvist", "Berg", "Horvat", "Costa", "Silva", "Petrov", "Yilmaz", "Sato", "Patel", "Khan",
]  # fmt: skip
_TITLES = [
    "CEO", "CFO", "COO", "CTO", "Head of Sales", "Head of Operations", "Procurement Manager",
    "IT Director", "Operations Manager", "Finance Manager", "Marketing Lead", "Product Owner",
    "Office Manager", "Logistics Coordinator", "Managing Director", "Buyer", "Head of IT",
    "Project Manager", "Controller", "VP Engineering",
]  # fmt: skip
_SOURCES = [
    "website",
    "website",
    "referral",
    "event",
    "outbound",
    "outbound",
    "partner",
    "inbound_call",
    "advertising",
]
_SIZES = ["1-10", "11-50", "11-50", "51-200", "51-200", "201-1000", "1001-5000", "5000+"]
_REVENUES = ["lt1m", "1m-10m", "1m-10m", "10m-50m", "10m-50m", "50m-250m", "250m-1b", "gt1b"]
_SUBJECTS = {
    "call": [
        "Discovery call", "Follow-up on the proposal", "Pricing questions", "Check-in call",
        "Intro call", "Call about the renewal", "Budget discussion", "Reference call",
        "Quick question about onboarding", "Call back as promised",
    ],
    "email": [
        "Sent the proposal", "Shared the case study", "Intro e-mail", "Sent pricing sheet",
        "Meeting recap", "Contract draft sent", "Answered security questionnaire",
        "Sent product roadmap", "Follow-up after the demo", "Invitation to the webinar",
    ],
    "meeting": [
        "Product demo", "Quarterly business review", "On-site workshop", "Kick-off meeting",
        "Negotiation meeting", "Technical deep dive", "Lunch with the team", "Steering committee",
    ],
    "note": [
        "Decision expected next quarter", "Budget approved", "New stakeholder joined",
        "Competitor also in the running", "Prefers e-mail over calls", "Reorganisation under way",
    ],
}  # fmt: skip
_BODIES = [
    "They are comparing two vendors and want a decision before the end of the quarter.",
    "Main concern is the integration with their ERP. Promised a technical call with our team.",
    "Very positive about the reporting features; the CFO has to sign off.",
    "Asked for a discount on a three-year term. Will check with the manager.",
    "Current contract with the competitor ends in spring. Good timing for us.",
    "Needs references from their industry. Sent two case studies.",
    "Onboarding went smoothly; they would like a training session for new staff.",
    "Procurement requires our security documentation before the next step.",
    "",
    "",
]
_TASKS = [
    "Send the revised proposal", "Call back about pricing", "Book a demo with the IT team",
    "Prepare the quarterly review", "Follow up on the contract", "Send the case study",
    "Ask for a reference customer", "Check budget status", "Schedule the kick-off",
    "Confirm the workshop date", "Send the meeting recap", "Introduce our solutions engineer",
]  # fmt: skip


def seed(*, tenant: Tenant, members: dict[str, Membership], stdout: TextIO) -> None:
    """Fill the demo tenant (current) with a year of organizations, contacts and history."""
    if Organization.objects.exists():
        stdout.write("contacts: demo data already present, left as it is")
        return
    rng = random.Random(SEED)
    now = timezone.now()
    tz = tenant.tz
    users = {email.split("@")[0]: m.user for email, m in members.items()}
    rep, rep2, manager = users.get("rep"), users.get("rep2"), users.get("manager")
    owners = [u for u in (rep, rep, rep2, rep2, manager) if u is not None]

    orgs = _organizations(rng, tenant, owners, now)
    Organization.objects.bulk_create(orgs, batch_size=500)
    contacts = _contacts(rng, tenant, orgs, now, focus=rep)
    Contact.objects.bulk_create(contacts, batch_size=500)
    activities = _activities(rng, tenant, contacts, owners, now)
    Activity.objects.bulk_create(activities, batch_size=1000)
    tasks = _tasks(rng, tenant, contacts, now, tz, focus=rep)
    Task.objects.bulk_create(tasks, batch_size=1000)
    if rep is not None:
        recent = [c for c in contacts if c.owner_id == rep.pk][:6]
        RecentRecord.objects.bulk_create(
            [
                RecentRecord(
                    tenant=tenant, user=rep, contact=c, touched_at=now - timedelta(hours=i * 5 + 1)
                )
                for i, c in enumerate(recent)
            ]
        )
    stdout.write(
        f"contacts: {len(orgs)} organizations, {len(contacts)} contacts, "
        f"{len(activities)} activities, {len(tasks)} tasks"
    )


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A random moment between start and end, on a working day between 8:00 and 18:00."""
    span = max((end - start).total_seconds(), 60)
    moment = start + timedelta(seconds=rng.uniform(0, span))
    while moment.weekday() >= 5:
        moment -= timedelta(days=1)
    moment = moment.replace(
        hour=rng.randint(8, 17), minute=rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
    )
    return min(max(moment, start), end)


def _organizations(
    rng: random.Random, tenant: Tenant, owners: list, now: datetime
) -> list[Organization]:
    orgs, keys = [], set()
    # One well-known name, so that creating "ACME Corporation" shows the duplicate warning.
    wanted = [("Acme", ("Corporation", "manufacturing"), "", _PLACES[0])]
    while len(wanted) < ORGANIZATIONS:
        wanted.append(
            (rng.choice(_PREFIXES), rng.choice(_TRADES), rng.choice(_FORMS), rng.choice(_PLACES))
        )
    for prefix, (trade, industry), form, (city, postal, country, tld) in wanted:
        name = f"{prefix} {trade} {form}".strip()
        key = organization_name_key(name)
        if key in keys:
            continue
        keys.add(key)
        created = now - timedelta(days=rng.uniform(5, 365))
        owner = rng.choice(owners) if owners else None
        domain = f"{prefix}{trade}".lower().replace(" ", "") + f".{tld}"
        orgs.append(
            Organization(
                tenant=tenant,
                name=name,
                name_key=key,
                domain=domain,
                website=f"https://www.{domain}",
                phone=f"+{rng.randint(30, 49)} {rng.randint(20, 99)} {rng.randint(1000, 9999)} {rng.randint(100, 999)}",
                industry=industry,
                size_band=rng.choice(_SIZES),
                revenue_range=rng.choice(_REVENUES),
                lifecycle=rng.choices(["prospect", "customer", "former_customer"], [55, 35, 10])[0],
                owner=owner,
                street=f"{rng.choice(_STREETS)} {rng.randint(1, 120)}",
                postal_code=postal,
                city=city,
                country=country,
                created_by=owner,
                updated_by=owner,
                created_at=created,
                updated_at=created + timedelta(days=rng.uniform(0, (now - created).days or 1)),
            )
        )
    return orgs


def _contacts(
    rng: random.Random, tenant: Tenant, orgs: list[Organization], now: datetime, *, focus
) -> list[Contact]:
    contacts, names = [], set()
    for org in orgs:
        for _ in range(rng.choices([1, 2, 3, 4, 5], [20, 30, 25, 15, 10])[0]):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            if (first, last) in names:  # real people rarely share a full name in one CRM
                continue
            names.add((first, last))
            local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
            local = (
                local.replace("ü", "ue")
                .replace("ö", "oe")
                .replace("ä", "ae")
                .replace("í", "i")
                .replace("é", "e")
            )
            email = f"{local}@{org.domain}"
            stage = rng.choices(
                ["lead", "qualified_lead", "opportunity", "customer", "other"], [35, 20, 15, 25, 5]
            )[0]
            if org.lifecycle == "customer" and rng.random() < 0.6:
                stage = "customer"
            created = org.created_at + timedelta(
                days=rng.uniform(0, max((now - org.created_at).days, 1) * 0.7)
            )
            contacts.append(
                Contact(
                    tenant=tenant,
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=f"+{rng.randint(30, 49)} {rng.randint(150, 179)} {rng.randint(1000000, 9999999)}",
                    job_title=rng.choice(_TITLES),
                    organization=org,
                    lead_source=rng.choice(_SOURCES),
                    lifecycle=stage,
                    created_lifecycle="lead" if rng.random() < 0.75 else stage,
                    preferred_channel=rng.choice(["", "email", "phone", "video", "in_person"]),
                    owner=org.owner,
                    created_by=org.owner,
                    updated_by=org.owner,
                    created_at=created,
                    updated_at=created
                    + timedelta(days=rng.uniform(0, max((now - created).days, 1))),
                )
            )
    # A likely duplicate to merge: the same person with a private address.
    theirs = [c for c in contacts if focus is not None and c.owner_id == focus.pk]
    if theirs or contacts:
        twin = (theirs or contacts)[2 if len(theirs) > 2 else 0]
        contacts.append(
            Contact(
                tenant=tenant,
                first_name=twin.first_name,
                last_name=twin.last_name,
                email=f"{twin.first_name.lower()}.{twin.last_name.lower().replace(' ', '')}@mail.example",
                phone=twin.phone,
                lifecycle="lead",
                created_lifecycle="lead",
                lead_source="event",
                owner=twin.owner,
                created_by=twin.owner,
                created_at=now - timedelta(days=12),
                updated_at=now - timedelta(days=12),
            )
        )
    return contacts


def _activities(
    rng: random.Random, tenant: Tenant, contacts: list[Contact], owners: list, now: datetime
) -> list[Activity]:
    activities = []
    for contact in contacts:
        count = rng.choices([0, 1, 3, 5, 8, 12], [10, 15, 25, 25, 15, 10])[0]
        for _ in range(count):
            kind = rng.choices(["call", "email", "meeting", "note"], [40, 35, 15, 10])[0]
            occurred = _moment(rng, contact.created_at, now - timedelta(minutes=30))
            outcome, duration = "", None
            if kind == "call":
                outcome = rng.choices(["connected", "left_voicemail", "no_answer"], [65, 20, 15])[0]
                duration = rng.randint(3, 40) if outcome == "connected" else 1
            elif kind == "meeting":
                outcome = rng.choices(["held", "rescheduled", "no_show"], [85, 10, 5])[0]
                duration = rng.choice([30, 45, 60, 90])
            logger = contact.owner if rng.random() < 0.8 or not owners else rng.choice(owners)
            activities.append(
                Activity(
                    tenant=tenant,
                    kind=kind,
                    subject=rng.choice(_SUBJECTS[kind]),
                    body=rng.choice(_BODIES),
                    occurred_at=occurred,
                    duration_minutes=duration,
                    outcome=outcome,
                    logged_by=logger,
                    contact=contact,
                    organization=contact.organization,
                    created_at=occurred + timedelta(minutes=rng.randint(1, 90)),
                    updated_at=occurred + timedelta(minutes=rng.randint(1, 90)),
                )
            )
    return activities


def _tasks(
    rng: random.Random, tenant: Tenant, contacts: list[Contact], now: datetime, tz, *, focus
) -> list[Task]:
    local_now = now.astimezone(tz)
    end_of_day = datetime.combine(local_now.date() + timedelta(days=1), time.min, tzinfo=tz)
    tasks = []
    focus_plan = ["overdue"] * 5 + ["today"] * 5 + ["soon"] * 10
    for contact in contacts:
        # Past next actions, done on time or a little late.
        for _ in range(rng.choices([0, 1, 2, 3], [30, 35, 25, 10])[0]):
            created = _moment(rng, contact.created_at, now - timedelta(days=14))
            due = created + timedelta(days=rng.randint(1, 10))
            done = min(due + timedelta(hours=rng.randint(-48, 72)), now - timedelta(days=1))
            cancelled = rng.random() < 0.07
            tasks.append(
                Task(
                    tenant=tenant,
                    title=rng.choice(_TASKS),
                    due_at=due,
                    assignee=contact.owner,
                    contact=contact,
                    organization=contact.organization,
                    created_by=contact.owner,
                    created_at=created,
                    updated_at=done,
                    done_at=None if cancelled else max(done, created),
                    done_by=None if cancelled else contact.owner,
                    cancelled_at=max(done, created) if cancelled else None,
                )
            )
        # The next action: most live records have one.
        if contact.lifecycle == "other" or rng.random() < 0.3:
            continue
        when = "soon"
        if focus is not None and contact.owner_id == focus.pk:
            # The demo rep's day: a handful overdue and due today, the rest spread ahead.
            when = focus_plan.pop(0) if focus_plan else "later"
        elif rng.random() < 0.2:
            when = "overdue"
        if when == "overdue":
            due = now - timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5))
        elif when == "today":
            due = now + (end_of_day - now) * rng.uniform(0.1, 0.9)
        else:
            days = rng.randint(1, 7) if when == "soon" else rng.randint(9, 40)
            due = datetime.combine(
                local_now.date() + timedelta(days=days),
                time(rng.choice([9, 10, 11, 14, 15, 16])),
                tzinfo=tz,
            )
        tasks.append(
            Task(
                tenant=tenant,
                title=rng.choice(_TASKS),
                due_at=due,
                assignee=contact.owner,
                contact=contact,
                organization=contact.organization,
                created_by=contact.owner,
                created_at=now - timedelta(days=rng.randint(1, 20)),
                updated_at=now - timedelta(days=1),
            )
        )
    return tasks
