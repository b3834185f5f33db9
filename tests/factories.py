"""Factories for tests that need their own rows beside the demo programme."""

import datetime
from decimal import Decimal

import factory

from enterprises.models import Enterprise, Organisation
from measures.models import Measure
from parks.models import Park, Province


class ProvinceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Province

    code = factory.Sequence(lambda n: f"test-province-{n}")
    name_vi = factory.Sequence(lambda n: f"Tỉnh thử {n}")
    name_en = factory.Sequence(lambda n: f"Test province {n}")


class ParkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Park

    province = factory.SubFactory(ProvinceFactory)
    code = factory.Sequence(lambda n: f"test-park-{n}")
    name_vi = factory.Sequence(lambda n: f"KCN thử {n}")
    area_ha = Decimal("100")


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    park = factory.SubFactory(ParkFactory)
    code = factory.Sequence(lambda n: f"test-ent-{n}")
    name = factory.Sequence(lambda n: f"Công ty thử {n}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    province = factory.SubFactory(ProvinceFactory)
    kind = Organisation.Kind.CITY_AGENCY
    name_vi = factory.Sequence(lambda n: f"Cơ quan thử {n}")


def recp_measure(enterprise: Enterprise, **fields) -> Measure:
    """An unsaved RECP measure of the enterprise, ready for `measure_create`."""
    values = {
        "reference": f"t-recp-{enterprise.pk}-{Measure.objects.count()}",
        "kind": Measure.Kind.RECP,
        "enterprise": enterprise,
        "park": enterprise.park,
        "technique": Measure.Technique.GOOD_HOUSEKEEPING,
        "title_vi": "Tắt máy nén khí khi không dùng",
        "identified_on": datetime.date(2022, 3, 1),
        "estimate_year": 2022,
    }
    values.update(fields)
    return Measure(**values)
