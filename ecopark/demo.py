"""Demo data: the real places of the programme, and illustrative enterprises and measures whose programme totals
reproduce the published headline (295 of 612 RECP options for 37 of 68 enterprises, 62 symbiosis exchanges,
4.4 million kWh, 20.8 thousand m3, 800 thousand USD and 87 thousand tCO2e per year).

Enterprises and outside parties are named so that nobody takes them for real companies. Loading is idempotent:
what already exists (matched by code or reference) is left as it is, and only what is missing is added.
"""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Sum
from django.utils import translation

from ecopark.roles import Role
from enterprises.models import Enterprise, Organisation
from measures.models import Measure, Resource
from measures.selectors import exact_sum
from measures.services import (
    CO2E_PLACES,
    FactorTable,
    FlowInput,
    NewMeasure,
    RateTable,
    SavingInput,
    figures_of,
    measures_create_many,
    saving_line,
)
from parks.models import Park, ParkMembership, Province, ProvinceStatistic
from reports.services import rollup_rebuild

HEADLINE = {
    "recp_identified": 612,
    "recp_proposed": 295,
    "enterprises": 68,
    "enterprises_proposed": 37,
    "is_count": 62,
    "electricity_kwh": Decimal(4_400_000),
    "water_m3": Decimal(20_800),
    "cost_usd": Decimal(800_000),
    "co2e_t": Decimal(87_000),
}

PROVINCES = [
    ("hcm", "Thành phố Hồ Chí Minh", "Ho Chi Minh City"),
    ("can-tho", "Cần Thơ", "Can Tho"),
    ("dong-nai", "Đồng Nai", "Dong Nai"),
    ("da-nang", "Đà Nẵng", "Da Nang"),
    ("hai-phong", "Hải Phòng", "Hai Phong"),
]
PLACES_SOURCE = "eip-vietnam.org pilot park list; hiepphuoc.com; theinvestor.vn; vccinews.com; vietnamfinance.vn"
PARKS = [
    # code, province, Vietnamese, English, district, operator, area ha, status
    (
        "hiep-phuoc",
        "hcm",
        "KCN Hiệp Phước",
        "Hiep Phuoc Industrial Park",
        "Nhà Bè",
        "Hiep Phuoc Industrial Park JSC (HIPC)",
        Decimal("1686"),
        Park.ProgrammeStatus.FULL,
    ),
    (
        "amata",
        "dong-nai",
        "KCN Amata",
        "Amata Industrial Park",
        "Biên Hòa",
        "Amata (Vietnam) JSC",
        Decimal("539.73"),
        Park.ProgrammeStatus.FULL,
    ),
    (
        "dinh-vu",
        "hai-phong",
        "KCN Đình Vũ / DEEP C Hải Phòng I",
        "Dinh Vu / DEEP C Hai Phong I Industrial Zone",
        "Hải An",
        "Dinh Vu Industrial Zone JSC",
        Decimal("541"),
        Park.ProgrammeStatus.FULL,
    ),
    (
        "hoa-khanh",
        "da-nang",
        "KCN Hòa Khánh",
        "Hoa Khanh Industrial Park",
        "Liên Chiểu",
        "Da Nang IP infrastructure development company",
        Decimal("394"),
        Park.ProgrammeStatus.FOLLOW_UP,
    ),
    (
        "tra-noc-1",
        "can-tho",
        "KCN Trà Nóc 1",
        "Tra Noc 1 Industrial Park",
        "Bình Thủy",
        "",
        Decimal("135"),
        Park.ProgrammeStatus.FOLLOW_UP,
    ),
    (
        "tra-noc-2",
        "can-tho",
        "KCN Trà Nóc 2",
        "Tra Noc 2 Industrial Park",
        "Ô Môn",
        "",
        Decimal("155"),
        Park.ProgrammeStatus.FOLLOW_UP,
    ),
]
FULL_PARKS = ["dinh-vu", "hiep-phuoc", "amata"]
ORGANISATIONS = [
    # province, kind, Vietnamese, English
    ("hai-phong", Organisation.Kind.CITY_AGENCY, "Công an quận Hải An", "Hai An district police"),
    (
        "hai-phong",
        Organisation.Kind.WASTEWATER_PLANT,
        "Nhà máy xử lý nước thải minh họa Hải Phòng",
        "Demo wastewater treatment plant, Hai Phong",
    ),
    (
        "hai-phong",
        Organisation.Kind.RESIDENTS,
        "Cộng đồng dân cư minh họa quận Hải An",
        "Demo residents' community, Hai An",
    ),
    ("hcm", Organisation.Kind.WASTE_COMPANY, "Công ty môi trường đô thị minh họa", "Demo municipal waste company"),
    ("dong-nai", Organisation.Kind.UTILITY, "Nhà máy nước minh họa Biên Hòa", "Demo water utility, Bien Hoa"),
]
SECTORS = ["1079", "1311", "2220", "2410", "2592", "1701", "2011", "2394", "1050", "2815"]
SIZES = ["small", "medium", "large", "medium"]
DEMO_USERS = [
    # username, password, role, park codes, first name
    ("admin", "ecopark-demo-admin", Role.ADMINISTRATOR, [], "Quản trị viên minh họa"),
    ("staff", "ecopark-demo-staff", Role.STAFF, [], "Cán bộ chương trình minh họa"),
    ("manager.deepc", "ecopark-demo-manager", Role.PARK_MANAGER, ["dinh-vu"], "Quản lý KCN minh họa (DEEP C)"),
    ("partner", "ecopark-demo-partner", Role.PARTNER, [], "Đối tác minh họa"),
]

TECHNIQUES = list(Measure.Technique)
ENTERPRISE_COUNT = 68
RECP_PER_ENTERPRISE = 9
PROPOSED_ENTERPRISES = 37
IS_PER_PARK = {"dinh-vu": 24, "hiep-phuoc": 20, "amata": 18}
FUEL_TOTALS_T = {  # RECP fuel savings, tonnes per year
    "coal-bituminous": 5000,
    "fuel-oil": 1500,
    "diesel": 600,
    "lpg": 300,
    "natural-gas": 400,
    "wood": 2000,
}
STEAM_COAL_T = 12000  # coal saved by symbiosis steam sharing
START = datetime.date(2021, 3, 1)
STEP = datetime.timedelta(days=60)
ADVANCE = [Measure.Status.PROPOSED, Measure.Status.ACCEPTED, Measure.Status.IMPLEMENTED, Measure.Status.VERIFIED]
BALANCING_METHOD = "Avoided clinker production (illustrative)"


def split(total: int, weights: list[float]) -> list[int]:
    """Whole shares of `total` in proportion to the weights, summing exactly to `total` (largest remainder)."""
    if not weights:
        return []
    scale = sum(weights)
    raw = [total * w / scale for w in weights]
    shares = [int(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: raw[i] - shares[i], reverse=True)
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


@dataclass
class PlannedMeasure:
    """A measure to create, with its savings, flows and the statuses it moves through."""

    measure: Measure
    savings: list[SavingInput] = field(default_factory=list)
    flows: list[FlowInput] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    closing_reason: str = ""


def _places() -> dict[str, Park]:
    provinces = {}
    for code, vi, en in PROVINCES:
        provinces[code], _ = Province.objects.get_or_create(code=code, defaults={"name_vi": vi, "name_en": en})
    ProvinceStatistic.objects.get_or_create(
        province=provinces["hai-phong"],
        year=2023,
        defaults={
            "operating_parks": 14,
            "investment_projects": 688,
            "registered_capital_usd": Decimal("36320000000"),
            "source": "baohaiphong.com.vn, Hai Phong Economic Zone Authority at the 12 September workshop",
            "note": "The article gives the day, not the year; 2023 is inferred (30 years after the first park).",
        },
    )
    parks = {}
    for code, province, vi, en, district, operator, area, status in PARKS:
        parks[code], _ = Park.objects.get_or_create(
            code=code,
            defaults={
                "province": provinces[province],
                "name_vi": vi,
                "name_en": en,
                "district": district,
                "operator": operator,
                "area_ha": area,
                "programme_status": status,
                "source": PLACES_SOURCE,
            },
        )
    for province, kind, vi, en in ORGANISATIONS:
        Organisation.objects.get_or_create(
            province=provinces[province], name_vi=vi, defaults={"kind": kind, "name_en": en}
        )
    return parks


def _enterprises(parks: dict[str, Park]) -> list[Enterprise]:
    enterprises = []
    for i in range(ENTERPRISE_COUNT):
        number = f"{i + 1:02d}"
        enterprise, _ = Enterprise.objects.get_or_create(
            code=f"demo-{number}",
            defaults={
                "park": parks[FULL_PARKS[i % 3]],
                "name": f"Doanh nghiệp minh họa {number} / Demo enterprise {number}",
                "sector_code": SECTORS[i % len(SECTORS)],
                "size": SIZES[i % len(SIZES)],
                "joined_programme": True,
                "partner_consent": i % 2 == 0,
            },
        )
        enterprises.append(enterprise)
    return enterprises


def _label(choice, language: str) -> str:
    """A choice's label in the given language, whatever language is active."""
    with translation.override(language):
        return str(choice.label)


def _identified_on(index: int, count: int) -> datetime.date:
    span = (datetime.date(2023, 10, 31) - START).days
    return START + datetime.timedelta(days=span * index // count)


def _plan_recp(enterprises: list[Enterprise]) -> list[PlannedMeasure]:
    plans = []
    advanced = 0
    for e, enterprise in enumerate(enterprises):
        proposed_here = 8 if e < PROPOSED_ENTERPRISES - 1 else 7 if e == PROPOSED_ENTERPRISES - 1 else 0
        for j in range(RECP_PER_ENTERPRISE):
            n = e * RECP_PER_ENTERPRISE + j
            technique = TECHNIQUES[n % len(TECHNIQUES)]
            identified_on = _identified_on(n, ENTERPRISE_COUNT * RECP_PER_ENTERPRISE)
            plan = PlannedMeasure(
                Measure(
                    reference=f"demo-recp-{n + 1:03d}",
                    kind=Measure.Kind.RECP,
                    enterprise=enterprise,
                    park_id=enterprise.park_id,
                    technique=technique,
                    title_vi=f"Giải pháp minh họa {n + 1:03d}: {_label(technique, 'vi')}",
                    title_en=f"Demo option {n + 1:03d}: {_label(technique, 'en')}",
                    identified_on=identified_on,
                    estimate_year=identified_on.year,
                    status=Measure.Status.IDENTIFIED,
                )
            )
            if j < proposed_here:
                depth = [1, 1, 1, 1, 2, 2, 3, 3, 3, 4][advanced % 10]
                plan.steps = ADVANCE[:depth]
                advanced += 1
            elif n % 30 == 29:
                plan.steps = [Measure.Status.REJECTED if n % 60 == 59 else Measure.Status.WITHDRAWN]
                plan.closing_reason = "Payback too long for the enterprise (illustrative)."
            plans.append(plan)
    return plans


def _plan_is(parks: dict[str, Park], enterprises: list[Enterprise]) -> list[PlannedMeasure]:
    organisations = {o.province.code: [] for o in Organisation.objects.select_related("province")}
    for organisation in Organisation.objects.select_related("province").order_by("pk"):
        organisations[organisation.province.code].append(organisation)
    types = list(Measure.ExchangeType)
    plans = []
    n = 0
    for park_code, count in IS_PER_PARK.items():
        park = parks[park_code]
        members = [e for e in enterprises if e.park_id == park.pk]
        cities = organisations.get(park.province.code, [])
        for k in range(count):
            n += 1
            exchange_type = types[k % 3]
            identified_on = _identified_on(n, 62)
            measure = Measure(
                reference=f"demo-is-{n:02d}",
                kind=Measure.Kind.IS,
                park=park,
                exchange_type=exchange_type,
                identified_on=identified_on,
                estimate_year=identified_on.year,
                status=Measure.Status.IDENTIFIED,
            )
            if k % 6 == 5 and cities:  # industrial-urban: a park enterprise or the park and the city
                city = cities[k % len(cities)]
                if k % 12 == 5:
                    measure.source_park, measure.sink_organisation = park, city
                else:
                    measure.source_organisation, measure.sink_enterprise = city, members[k % len(members)]
            else:
                measure.source_enterprise = members[k % len(members)]
                measure.sink_enterprise = members[(k + 1 + k // len(members)) % len(members)]
            measure.title_vi = f"Cộng sinh minh họa {n:02d}: {_label(exchange_type, 'vi')}"
            measure.title_en = f"Demo symbiosis {n:02d}: {_label(exchange_type, 'en')}"
            plan = PlannedMeasure(measure)
            plan.steps = ADVANCE[: [0, 1, 2, 3, 3, 4][k % 6]]
            plans.append(plan)
    police = Organisation.objects.filter(name_vi="Công an quận Hải An").first()
    agreement = next(p for p in plans if p.measure.park.code == "dinh-vu" and p.measure.source_park_id)
    if police is not None:
        agreement.measure.sink_organisation = police
        agreement.measure.title_vi = "Thỏa thuận cộng sinh công nghiệp - đô thị với Công an quận Hải An"
        agreement.measure.title_en = "Industrial-urban symbiosis agreement with the Hai An district police"
        agreement.measure.description_vi = "Thỏa thuận được ký tại hội thảo ngày 12-9 (baohaiphong.com.vn)."
        agreement.measure.description_en = "Agreement signed at the 12 September workshop; figures illustrative."
    return plans


def _allocate(plans: list[PlannedMeasure], resources: dict[str, Resource], rng: random.Random) -> None:
    """Spread the headline totals over the live measures, in whole units, so that the sums are exact."""
    live = [p for p in plans if not set(p.steps) & set(Measure.CLOSED_STATUSES)]
    recp = [p for p in live if p.measure.kind == Measure.Kind.RECP]
    exchanges = [p for p in live if p.measure.kind == Measure.Kind.IS]

    def spread(targets: list[PlannedMeasure], total: int, code: str, unit: str, scale: int = 1) -> None:
        shares = split(total * scale, [0.5 + rng.random() for _ in targets])
        for plan, share in zip(targets, shares, strict=True):
            plan.savings.append(SavingInput(resources[code], Decimal(share) / scale, unit))

    electric = [p for p in recp if p.measure.technique != Measure.Technique.PRODUCT_MODIFICATION]
    spread(electric, int(HEADLINE["electricity_kwh"]), "electricity", "kWh")
    watery = [p for p in recp if p.measure.technique in ("good_housekeeping", "onsite_recovery", "process_control")]
    spread(watery[::2], int(HEADLINE["water_m3"]), "water", "m3")
    burners = [
        p for p in recp if p.measure.technique in ("equipment_modification", "technology_change", "process_control")
    ]
    for i, (code, total) in enumerate(FUEL_TOTALS_T.items()):
        spread(burners[i :: len(FUEL_TOTALS_T)], total, code, "t", scale=10)
    steam = [p for p in exchanges if p.measure.exchange_type == Measure.ExchangeType.UTILITY_SHARING]
    spread(steam, STEAM_COAL_T, "coal-bituminous", "t", scale=10)
    costs = split(int(HEADLINE["cost_usd"]), [0.5 + rng.random() for _ in live])
    for plan, cost in zip(live, costs, strict=True):
        plan.measure.annual_cost_saving = Decimal(cost)
        plan.measure.cost_currency = "USD"
        plan.measure.investment = Decimal(cost) * Decimal(rng.choice([1, 2, 3, 4]))
        plan.measure.investment_currency = "USD"
    for plan in plans:
        if plan.measure.kind == Measure.Kind.IS:
            flow = {
                Measure.ExchangeType.BYPRODUCT: ("fly-ash-slag", "t", 200),
                Measure.ExchangeType.UTILITY_SHARING: ("steam", "GJ", 5000),
                Measure.ExchangeType.SHARED_SERVICES: ("wastewater", "m3", 3000),
            }[plan.measure.exchange_type]
            code, unit, size = flow
            plan.flows.append(FlowInput(resources[code], Decimal(int(size * (0.5 + rng.random()))), unit))
    for plan in plans:
        if Measure.Status.VERIFIED in plan.steps:
            plan.savings = [
                SavingInput(s.resource, s.quantity, s.unit, (s.quantity * Decimal("0.9")).quantize(Decimal("0.1")))
                for s in plan.savings
            ]


def _create(plans: list[PlannedMeasure], actor) -> list[Measure]:
    """Create the planned measures that do not exist yet, with their lines and status history, through the same bulk
    service as the import (checks, figures, audit entries and roll-up marks alike)."""
    existing = set(
        Measure.objects.filter(reference__in=[p.measure.reference for p in plans]).values_list("reference", flat=True)
    )
    todo = [p for p in plans if p.measure.reference not in existing]
    items = []
    for plan in todo:
        when = plan.measure.identified_on
        history = [(Measure.Status.IDENTIFIED, when, "")]
        for status in plan.steps:
            when = when + STEP
            if status == Measure.Status.IMPLEMENTED:
                plan.measure.implemented_on = when
            if status == Measure.Status.VERIFIED:
                plan.measure.verified_on = when
            history.append((status, when, plan.closing_reason if status in Measure.CLOSED_STATUSES else ""))
        if plan.steps:
            plan.measure.status = plan.steps[-1]
            plan.measure.status_reason = plan.closing_reason
        items.append(NewMeasure(plan.measure, plan.savings, plan.flows, history=history))
    _balance_co2e(todo)
    errors = measures_create_many(items, created_by=actor)
    if errors:  # the demo's own data: a refusal is a bug in this module
        raise ValueError(f"the demo programme was refused: {errors}")
    return [plan.measure for plan in todo]


BALANCING_NOTE = "Fly ash and slag replacing clinker in cement; demo figure, not a measurement."


def _balance_co2e(todo: list[PlannedMeasure]) -> None:
    """Give the new by-product exchanges entered CO2e (avoided clinker) so that the programme total is the headline:
    the rest of the programme's CO2e is worked out by the figures engine before anything is written."""
    closed = set(Measure.CLOSED_STATUSES)
    live = [p for p in todo if p.measure.status not in closed]
    balancing = [p for p in live if p.measure.kind == Measure.Kind.IS
                 and p.measure.exchange_type == Measure.ExchangeType.BYPRODUCT]  # fmt: skip
    if not balancing:
        return
    factors, rates = FactorTable(), RateTable()
    planned = sum(
        (
            figures_of(p.measure, [saving_line(p.measure, s) for s in p.savings], factors, rates)[0]["co2e_t"]
            for p in live
            if p not in balancing
        ),
        Decimal(0),
    )
    stored = Measure.objects.filter(reference__startswith="demo-").exclude(status__in=Measure.CLOSED_STATUSES)
    counted = exact_sum(stored.aggregate(total=Sum("co2e_t"))["total"], CO2E_PLACES) + planned
    remainder_kg = int((HEADLINE["co2e_t"] - counted) * 1000)
    if remainder_kg <= 0:
        return
    shares = split(remainder_kg, [1.0 + (i % 5) for i in range(len(balancing))])
    for plan, share in zip(balancing, shares, strict=True):
        plan.measure.co2e_entered_t = Decimal(share) / 1000
        plan.measure.co2e_method = BALANCING_METHOD
        plan.measure.co2e_justification = (
            "Fly ash and slag replacing clinker in cement; demo figure, not a measurement."
        )


def ensure_demo_users() -> list[tuple[str, str, Role]]:
    """Create the demo users that are missing (one per role); existing users keep their passwords."""
    return _users({park.code: park for park in Park.objects.filter(code__in=[c for u in DEMO_USERS for c in u[3]])})


def _users(parks: dict[str, Park]) -> list[tuple[str, str, Role]]:
    User = get_user_model()
    logins = []
    for username, password, role, park_codes, first_name in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": first_name})
        if created:
            user.set_password(password)
            user.is_staff = role in (Role.ADMINISTRATOR, Role.STAFF)
            user.is_superuser = role == Role.ADMINISTRATOR
            user.save()
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        for code in park_codes:
            ParkMembership.objects.get_or_create(user=user, park=parks[code])
        logins.append((username, password, role))
    return logins


@transaction.atomic
def load_demo(*, with_users: bool) -> dict[str, int]:
    """Load the places, demo enterprises, measures (and users); returns how many measures were added."""
    rng = random.Random(20200101)  # fixed seed: the same figures on every machine
    parks = _places()
    enterprises = _enterprises(parks)
    resources = {r.code: r for r in Resource.objects.all()}
    plans = _plan_recp(enterprises) + _plan_is(parks, enterprises)
    _allocate(plans, resources, rng)
    created = _create(plans, actor=None)
    if created:
        rollup_rebuild(reason="demo data loaded")
    users = _users(parks) if with_users else []
    return {"measures_added": len(created), "users": len(users)}
