"""factory-boy factories, one per model; the tenant is always passed explicitly
(or taken from the tenant made current by the test)."""

import factory
from django.contrib.auth.hashers import make_password

from crm.models import Membership, Role, Tenant, User

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
