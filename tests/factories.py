"""factory-boy factories, one per model; the tenant is always passed explicitly
(or taken from the tenant made current by the test)."""

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from contacts.models import (
    Activity,
    ChoiceOption,
    Contact,
    Organization,
    SavedView,
    Task,
)
from contacts.normalize import organization_name_key
from crm.models import Membership, Role, Tenant, User
from crm.tenancy import current_tenant

PASSWORD = "correct horse battery staple"
_HASHED = make_password(PASSWORD)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")
    time_zone = "Europe/Berlin"
    currency = "EUR"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = _HASHED


class MembershipFactory(factory.django.DjangoModelFactory):
    """Create inside tenant_context(tenant): Membership's default manager is scoped."""

    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.REP

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = model_class(*args, **kwargs)
        obj.save()
        return obj


# contacts: create inside tenant_context(tenant) (or pass tenant=…); the default
# managers are scoped to the current tenant.


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    tenant = factory.LazyFunction(current_tenant)
    name = factory.Sequence(lambda n: f"Organization {n}")
    name_key = factory.LazyAttribute(lambda o: organization_name_key(o.name))
    domain = factory.Sequence(lambda n: f"org{n}.example")
    lifecycle = Organization.Lifecycle.PROSPECT


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    tenant = factory.LazyFunction(current_tenant)
    first_name = factory.Faker("first_name")
    last_name = factory.Sequence(lambda n: f"Person{n}")
    email = factory.Sequence(lambda n: f"person{n}@example.test")
    lifecycle = Contact.Lifecycle.LEAD
    created_lifecycle = factory.LazyAttribute(lambda o: o.lifecycle)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    tenant = factory.LazyFunction(current_tenant)
    kind = Activity.Kind.CALL
    subject = factory.Sequence(lambda n: f"Call number {n}")
    occurred_at = factory.LazyFunction(timezone.now)
    contact = factory.SubFactory(ContactFactory, tenant=factory.SelfAttribute("..tenant"))


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    tenant = factory.LazyFunction(current_tenant)
    title = factory.Sequence(lambda n: f"Follow up {n}")
    due_at = factory.LazyFunction(timezone.now)


class ChoiceOptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChoiceOption

    tenant = factory.LazyFunction(current_tenant)
    list = "industry"
    value = factory.Sequence(lambda n: f"value-{n}")
    label = factory.Sequence(lambda n: f"Value {n}")


class SavedViewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SavedView

    tenant = factory.LazyFunction(current_tenant)
    list_name = SavedView.ListName.CONTACTS
    name = factory.Sequence(lambda n: f"View {n}")
    query = "lifecycle=lead"


# pipeline: create inside tenant_context(tenant), like the contacts factories.


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pipeline.Pipeline"

    tenant = factory.LazyFunction(current_tenant)
    name = factory.Sequence(lambda n: f"Pipeline {n}")
    kind = "sales"
    position = factory.Sequence(lambda n: n)


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pipeline.Stage"

    tenant = factory.LazyFunction(current_tenant)
    pipeline = factory.SubFactory(PipelineFactory, tenant=factory.SelfAttribute("..tenant"))
    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: n)
    probability = 50
    kind = "open"


class StageCriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pipeline.StageCriterion"

    tenant = factory.LazyFunction(current_tenant)
    stage = factory.SubFactory(StageFactory, tenant=factory.SelfAttribute("..tenant"))
    when = "entry"
    kind = "field"
    field_name = "amount"


class LostReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pipeline.LostReason"

    tenant = factory.LazyFunction(current_tenant)
    label = factory.Sequence(lambda n: f"Reason {n}")
    position = factory.Sequence(lambda n: n)


class StageTransitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pipeline.StageTransition"

    tenant = factory.LazyFunction(current_tenant)
    from_stage = None
    at = factory.LazyFunction(timezone.now)


class DealFactory(factory.django.DjangoModelFactory):
    """An open deal in `stage` with its first transition (as create_deal writes it)."""

    class Meta:
        model = "pipeline.Deal"
        skip_postgeneration_save = True

    tenant = factory.LazyFunction(current_tenant)
    stage = factory.SubFactory(StageFactory, tenant=factory.SelfAttribute("..tenant"))
    pipeline = factory.LazyAttribute(lambda o: o.stage.pipeline)
    name = factory.Sequence(lambda n: f"Deal {n}")
    organization = factory.SubFactory(OrganizationFactory, tenant=factory.SelfAttribute("..tenant"))
    amount = 1000
    currency = "EUR"
    stage_entered_at = factory.LazyFunction(timezone.now)
    created_at = factory.LazyAttribute(lambda o: o.stage_entered_at)
    first_transition = factory.RelatedFactory(
        StageTransitionFactory,
        factory_related_name="deal",
        tenant=factory.SelfAttribute("..tenant"),
        to_stage=factory.SelfAttribute("..stage"),
        at=factory.SelfAttribute("..created_at"),
    )


class DealActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pipeline.DealActivity"

    tenant = factory.LazyFunction(current_tenant)
    deal = factory.SubFactory(DealFactory, tenant=factory.SelfAttribute("..tenant"))
    activity = factory.SubFactory(
        ActivityFactory,
        tenant=factory.SelfAttribute("..tenant"),
        contact=None,
        organization=factory.SelfAttribute("..deal.organization"),
    )


# crm custom fields and governance: create inside tenant_context(tenant).


class FieldDefinitionFactory(factory.django.DjangoModelFactory):
    """Prefer governance.services.fields.create_field in tests of behaviour: it also clears
    the definitions a request memoised."""

    class Meta:
        model = "crm.FieldDefinition"

    tenant = factory.LazyFunction(current_tenant)
    record_type = "contact"
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    field_type = "text"


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "governance.ImportJob"

    tenant = factory.LazyFunction(current_tenant)
    kind = "contacts"
    file_name = "contacts.csv"
    headers = factory.LazyFunction(lambda: ["First name", "E-mail"])
    mapping = factory.LazyFunction(lambda: {"0": "first_name", "1": "email"})


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "governance.Consent"

    tenant = factory.LazyFunction(current_tenant)
    contact = factory.SubFactory(ContactFactory, tenant=factory.SelfAttribute("..tenant"))
    purpose = "newsletter"
    status = "granted"
    source = "web_form"
