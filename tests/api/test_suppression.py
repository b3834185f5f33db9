"""Partners never learn a withheld figure from a total (issue 17): the roll-up endpoint keeps to the disclosure rule.

Partners do not see the money of a measure in which a non-consenting enterprise takes part. Before the rule, a park's
roll-up row covering one such enterprise (or one among consenting enterprises, whose money a partner reads in the
measures list and subtracts) gave its exact cost saving. Here a partner's script reads every cell it can, subtracts
what it can, and never arrives at a withheld figure; staff and park managers still read every figure.
"""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enterprises.models import Enterprise, Organisation
from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create, measure_transition
from parks.models import Park
from reports.models import DisclosureRule, RollupRow
from reports.selectors import enterprise_rows
from reports.services import rollup_rebuild
from tests.api.conftest import key_client
from tests.factories import EnterpriseFactory, ParkFactory, ProvinceFactory
from tests.forms_helper import form_fields
from tests.reports.disclosure_audit import Span

pytestmark = pytest.mark.django_db
URL = "/api/v1/rollups/"
LIVE = ("identified", "proposed", "accepted", "implemented", "verified")
STAGES = {"potential": set(LIVE), "realised": {"implemented", "verified"}, "verified": {"verified"}}
TECHNIQUES = ("good_housekeeping", "equipment_modification")
YEARS = (2022, 2023)
REFERENCES = itertools.count()


def add_measure(*, enterprise=None, source=None, sink=None, park=None, usd=None, status="proposed", year=2022,
                technique=TECHNIQUES[0]) -> Measure:  # fmt: skip
    """A RECP measure of `enterprise`, or an exchange from `source` to `sink` (an enterprise or an organisation)
    hosted by `park`, through the service every door uses."""
    values = {
        "reference": f"supp-{next(REFERENCES)}", "title_en": "disclosure test", "status": status,
        "identified_on": datetime.date(year, 1, 10), "estimate_year": year,
        "annual_cost_saving": usd, "cost_currency": "USD",
    }  # fmt: skip
    if status in ("implemented", "verified"):
        values["implemented_on"] = datetime.date(year, 3, 1)
    if status == "verified":
        values["verified_on"] = datetime.date(year, 6, 1)
    if enterprise is not None:
        measure = Measure(kind="recp", enterprise=enterprise, park=enterprise.park, technique=technique, **values)
    else:
        sinks = {"sink_enterprise": sink} if isinstance(sink, Enterprise) else {"sink_organisation": sink}
        measure = Measure(kind="is", park=park or source.park, exchange_type="byproduct", source_enterprise=source,
                          **sinks, **values)  # fmt: skip
    electricity = Resource.objects.get(code="electricity")
    return measure_create(measure=measure, savings=[SavingInput(electricity, Decimal(1000), "kWh")])


def rows(client, **query) -> list[dict]:
    response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def money(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@pytest.fixture
def a_new_park(db):
    """A province with one park of its own, outside the demo's."""
    return ParkFactory(province=ProvinceFactory())


def test_a_park_of_one_non_consenting_enterprise_and_consenting_ones_hides_its_money(
    partner_api, staff_api, a_new_park
):
    withheld = EnterpriseFactory(park=a_new_park, partner_consent=False)
    shown = EnterpriseFactory(park=a_new_park, partner_consent=True)
    add_measure(enterprise=withheld, usd=Decimal("1234.56"))
    add_measure(enterprise=shown, usd=Decimal("100.00"))
    rollup_rebuild(reason="test")

    for level, scope in (("park", a_new_park.pk), ("province", a_new_park.province_id)):
        for row in rows(partner_api, level=level, id=scope):
            assert row["cost_usd"] is None and row["cost_vnd"] is None, row
            assert row["suppressed"] is True and row["withheld"] == ["cost_usd", "cost_vnd"]
            assert row["electricity_kwh"] == 2000 and row["measure_count"] == 2  # savings and counts stay
    # What the partner reads of the consenting enterprise cannot be subtracted from anything that holds the other.
    listed = partner_api.get("/api/v1/measures/", {"park": a_new_park.code}).json()["results"]
    assert sorted(str(money(m["cost_usd"])) for m in listed) == ["100.0", "None"]
    # Staff read the park as it is.
    (staff_row,) = rows(staff_api, level="park", id=a_new_park.pk, stage="potential")
    assert money(staff_row["cost_usd"]) == Decimal("1334.56") and staff_row["suppressed"] is False


def test_a_consenting_enterprises_own_figures_hide_an_exchange_with_a_non_consenting_one(partner_api, a_new_park):
    shown = EnterpriseFactory(park=a_new_park, partner_consent=True)
    withheld = EnterpriseFactory(park=a_new_park, partner_consent=False)
    add_measure(enterprise=shown, usd=Decimal("10.00"))
    add_measure(source=shown, sink=withheld, usd=Decimal("777.00"))  # its money is withheld in the measures list
    rollup_rebuild(reason="test")
    (row,) = rows(partner_api, level="enterprise", id=shown.pk, kind="all", stage="potential")
    assert row["cost_usd"] is None and row["suppressed"] is True  # 787 - 10 would be the exchange's 777
    (recp,) = rows(partner_api, level="enterprise", id=shown.pk, kind="recp", stage="potential")
    assert money(recp["cost_usd"]) == Decimal("10.00") and recp["suppressed"] is False  # nothing withheld in it


def test_a_roll_up_catching_up_never_shows_a_row_on_the_strength_of_measures_it_does_not_count_yet(
    partner_api, staff_api, a_new_park
):
    first, second, third = (EnterpriseFactory(park=a_new_park, partner_consent=False) for _ in range(3))
    add_measure(enterprise=first, usd=Decimal("500.00"))
    rollup_rebuild(reason="test")
    # Two more enterprises' measures are saved; the roll-up has not run yet (it runs after the commit).
    add_measure(enterprise=second, usd=Decimal("400.00"))
    add_measure(enterprise=third, usd=Decimal("450.00"))
    (staff_row,) = rows(staff_api, level="park", id=a_new_park.pk, stage="potential")
    assert staff_row["measure_count"] == 1 and money(staff_row["cost_usd"]) == Decimal("500.00")  # still the first
    (row,) = rows(partner_api, level="park", id=a_new_park.pk, stage="potential")
    assert row["cost_usd"] is None and row["suppressed"] is True
    rollup_rebuild(reason="test")
    (row,) = rows(partner_api, level="park", id=a_new_park.pk, stage="potential")
    assert money(row["cost_usd"]) == Decimal("1350.00") and row["suppressed"] is False  # three of a size


def test_an_enterprises_own_figures_hide_their_money_while_a_change_waits_for_the_roll_up(partner_api, a_new_park):
    shown = EnterpriseFactory(park=a_new_park, partner_consent=True)
    withheld = EnterpriseFactory(park=a_new_park, partner_consent=False)
    add_measure(enterprise=shown, usd=Decimal("10.00"))
    rollup_rebuild(reason="test")
    (row,) = rows(partner_api, level="enterprise", id=shown.pk, stage="potential")
    assert money(row["cost_usd"]) == Decimal("10.00")
    # An exchange with a non-consenting enterprise is saved: the enterprise's figures, computed from its measures as
    # they are, now hold money the rule has not been asked about yet.
    add_measure(source=shown, sink=withheld, usd=Decimal("777.00"))
    for row in rows(partner_api, level="enterprise", id=shown.pk):
        assert row["cost_usd"] is None and row["suppressed"] is True
    rollup_rebuild(reason="test")
    (recp,) = rows(partner_api, level="enterprise", id=shown.pk, kind="recp", stage="potential")
    assert money(recp["cost_usd"]) == Decimal("10.00")


def test_staff_and_park_managers_read_every_figure(partner_api, staff_api, manager_api, manager_user):
    rollup_rebuild(reason="test")
    table = {(r.level, r.scope_id, r.kind, r.technique, r.stage, r.year): r for r in RollupRow.objects.all()}
    suppressed_for_partners = 0
    for level in ("programme", "province", "park"):
        for query in ({}, {"kind": "recp"}, {"kind": "is"}, {"year": 2022}):
            partner = rows(partner_api, level=level, **query)
            suppressed_for_partners += sum(r["suppressed"] for r in partner)
            staff = rows(staff_api, level=level, **query)
            assert len(staff) == len(partner)
            for row in staff:
                stored = table[(level, row["id"] or 0, row["kind"], row["technique"], row["stage"], row["year"])]
                assert row["suppressed"] is False and row["withheld"] == []
                assert (money(row["cost_usd"]), money(row["cost_vnd"])) == (stored.cost_usd, stored.cost_vnd)
    assert suppressed_for_partners > 0  # the same rows partners get without their money

    park = Park.objects.get(code="dinh-vu")
    for row in rows(manager_api, level="park", id=park.pk):
        stored = table[("park", park.pk, row["kind"], row["technique"], row["stage"], row["year"])]
        assert row["suppressed"] is False and money(row["cost_usd"]) == stored.cost_usd
    withheld_from_partners = 0
    for enterprise in Enterprise.objects.filter(park=park, measures__isnull=False).distinct():
        own = {(r["kind"], r["stage"]): r["cost_usd"] for r in enterprise_rows(enterprise.pk)
               if r["technique"] == "" and r["year"] == 0}  # fmt: skip
        withheld_from_partners += sum(r["suppressed"] for r in rows(partner_api, level="enterprise", id=enterprise.pk))
        for row in rows(manager_api, level="enterprise", id=enterprise.pk):
            assert row["suppressed"] is False and money(row["cost_usd"]) == own[(row["kind"], row["stage"])]
    assert withheld_from_partners > 0


def test_the_thresholds_are_the_admins_to_set(partner_api, admin_client):
    rollup_rebuild(reason="test")
    programme = {"level": "programme", "stage": "potential"}
    assert rows(partner_api, **programme)[0]["suppressed"] is False
    rule = DisclosureRule.current()
    assert rule.pk and rule.source  # loaded with its source by the migration
    url = reverse("admin:reports_disclosurerule_change", args=[rule.pk])
    _, data = form_fields(admin_client.get(url).content.decode(), form_id="disclosurerule_form")
    data["min_enterprises"] = ["1000"]  # more than the programme has
    assert admin_client.post(url, data).status_code == 302
    assert rows(partner_api, **programme)[0]["suppressed"] is True
    assert admin_client.get(reverse("admin:reports_disclosurerule_add")).status_code == 403  # one rule
    assert admin_client.get(reverse("admin:reports_disclosurerule_delete", args=[rule.pk])).status_code == 403


def test_the_admin_refuses_a_rule_that_would_show_one_enterprise(admin_client):
    rule = DisclosureRule.current()
    url = reverse("admin:reports_disclosurerule_change", args=[rule.pk])
    _, data = form_fields(admin_client.get(url).content.decode(), form_id="disclosurerule_form")
    data["min_enterprises"], data["max_share"] = ["1"], ["100"]
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert {"min_enterprises", "max_share"} <= set(response.context["adminform"].form.errors)


def test_a_roll_up_run_decides_what_partners_may_not_read_so_the_first_partner_after_it_waits_for_nothing(
    a_new_park, django_assert_num_queries
):
    """At a million measures deciding the withheld cells takes seconds: the roll-up task decides it once the table
    has changed, and the first partner's read after the run finds the decision kept (three queries, not five)."""
    from django.core.cache import cache

    from reports.disclosure import withheld_for_partners
    from reports.tasks import rollup_rebuild_all

    add_measure(enterprise=EnterpriseFactory(park=a_new_park, partner_consent=False), usd=Decimal(1200))
    add_measure(enterprise=EnterpriseFactory(park=a_new_park, partner_consent=True), usd=Decimal(800))
    cache.clear()
    rollup_rebuild_all(reason="test")
    with django_assert_num_queries(3):
        withheld = withheld_for_partners()
    assert any(cell for cell in withheld), "the new park's money (one of two enterprises withholds) is withheld"


def test_partners_read_no_other_total(partner_api):
    # The dashboards' data is for the people who use the pages; partners read totals through /rollups/ only.
    assert partner_api.get("/api/v1/dashboard/", {"level": "programme"}).status_code == 403


def test_the_rule_protects_every_figure_the_measures_list_withholds():
    from measures.api.serializers import CONFIDENTIAL_FIELDS
    from reports.disclosure import PROTECTED
    from reports.services import FIGURES

    assert set(PROTECTED) == {f for f in FIGURES if f in CONFIDENTIAL_FIELDS}


@pytest.mark.parametrize(("level", "queries"), [("park", 4), ("enterprise", 8)])
def test_a_partners_roll_up_runs_the_same_queries_however_large_the_programme(
    partner_api, level, queries, django_assert_num_queries, a_new_park
):
    consenting = EnterpriseFactory(park=a_new_park, partner_consent=True)
    add_measure(enterprise=consenting, usd=Decimal("90.00"))
    target = {"park": a_new_park.pk, "enterprise": consenting.pk}[level]
    partner_api.get("/api/v1/parks/")  # the key's first use is recorded once; its owner's role is then kept
    for more in (0, 4):
        for _ in range(more):
            enterprise = EnterpriseFactory(park=a_new_park, partner_consent=False)
            for year in YEARS:
                add_measure(enterprise=enterprise, usd=Decimal("250.00"), year=year)
        rollup_rebuild(reason="test")
        # The rule, the non-consenting enterprises, the last roll-up run; then, once per run, the closed measures as
        # the table counts them; the rows (for an enterprise: itself, whether a change of its measures waits for
        # the table, its measures and their latest change).
        with django_assert_num_queries(queries + 2):
            rows(partner_api, level=level, id=target)
        with django_assert_num_queries(queries):  # the decision is kept until the next run
            rows(partner_api, level=level, id=target)


# The exhaustive check. The i-th measure's money is 2**20 + 2**i cents (or none): of a size, and a sum of them equals
# another only when it is over the same measures, so "equals a withheld figure" means "is that figure", never a
# coincidence.


@st.composite
def programmes(draw):
    parks = draw(st.integers(2, 4))
    provinces = draw(st.lists(st.integers(0, 1), min_size=parks, max_size=parks))  # the province of each park
    consent = st.sampled_from([True, False, False])
    enterprises = draw(st.lists(st.tuples(st.integers(0, parks - 1), consent), min_size=3, max_size=8))
    measures = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["recp", "recp", "is-enterprise", "is-organisation"]),
                st.integers(0, len(enterprises) - 1),  # the enterprise, or the exchange's source
                st.integers(1, len(enterprises) - 1),  # the sink, as an offset from the source
                st.integers(0, parks - 1),  # the park hosting an exchange
                st.sampled_from(TECHNIQUES),
                st.sampled_from((*LIVE, "rejected")),
                st.sampled_from(YEARS),
                st.sampled_from([True, True, True, False]),  # a cost saving recorded, or none
            ),
            min_size=4,
            max_size=18,
        )
    )
    return provinces, enterprises, measures


def _build(provinces, enterprises, measures) -> list[Measure]:
    made_provinces = [ProvinceFactory(), ProvinceFactory()]
    parks = [ParkFactory(province=made_provinces[p]) for p in provinces]
    firms = [EnterpriseFactory(park=parks[park], partner_consent=consent) for park, consent in enterprises]
    organisation = Organisation.objects.first()
    made = []
    for i, (kind, e, offset, host, technique, status, year, has_money) in enumerate(measures):
        usd = Decimal(2**20 + 2**i) / 100 if has_money else None
        closing = status == "rejected"
        status = "proposed" if closing else status
        if kind == "recp":
            measure = add_measure(enterprise=firms[e], usd=usd, status=status, year=year, technique=technique)
        else:
            sink = firms[(e + offset) % len(firms)] if kind == "is-enterprise" else organisation
            measure = add_measure(source=firms[e], sink=sink, park=parks[host], usd=usd, status=status, year=year)
        if closing:  # counted nowhere, and still in the measures list
            measure_transition(measure=measure, to_status="rejected", changed_by=None, reason="test",
                               effective_on=datetime.date(year, 2, 1))  # fmt: skip
        made.append(measure)
    return made


def _cells_of(m: dict, park_province: dict) -> list[tuple]:
    """The cells a partner reads that count a measure, from what the measures list says of it."""
    scopes = [("programme", 0), ("province", park_province[m["park"]]), ("park", m["park"])]
    scopes += [("enterprise", e) for e in m["parties"]]
    kinds = [("all", ""), (m["kind"], "")] + ([("recp", m["technique"])] if m["kind"] == "recp" else [])
    return [
        (level, scope, kind, technique, stage, year)
        for stage, statuses in STAGES.items()
        if m["status"] in statuses
        for level, scope in scopes
        for kind, technique in kinds
        for year in (0, m["reference_year"])
    ]


def _read_everything(partner) -> tuple[dict, list[dict], dict]:
    """What a partner's script reads: every roll-up cell, and the measures with the money it may see."""
    parks = {p["code"]: p for p in partner.get("/api/v1/parks/", {"page_size": 500}).json()["results"]}
    provinces = {p["code"]: p["id"] for p in partner.get("/api/v1/provinces/", {"page_size": 500}).json()["results"]}
    park_province = {p["id"]: provinces[p["province"]] for p in parks.values()}
    firms = {e["code"]: e["id"] for e in partner.get("/api/v1/enterprises/", {"page_size": 500}).json()["results"]}
    listed = partner.get("/api/v1/measures/", {"page_size": 500}).json()["results"]
    measures = []
    for m in listed:
        parties = {firms[code] for code in (m["enterprise"], m["source_enterprise"], m["sink_enterprise"]) if code}
        measures.append({**m, "park": parks[m["park"]]["id"], "parties": parties})
    variants = [("all", ""), ("recp", ""), ("is", "")] + [("recp", t) for t in TECHNIQUES]
    cells = {}
    scopes = [(level, None) for level in ("programme", "province", "park")]
    scopes += [("enterprise", e) for e in sorted({e for m in measures for e in m["parties"]})]
    for (level, scope), (kind, technique), year in itertools.product(scopes, variants, (0, *YEARS)):
        query = {"level": level, "kind": kind, "technique": technique, "year": year}
        if scope is not None:
            query["id"] = scope
        for row in rows(partner, **query):
            cells[(level, row["id"] or 0, kind, technique, row["stage"], year)] = row
    return cells, measures, park_province


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(programme=programmes())
def test_no_figure_a_partner_reads_or_subtracts_is_a_withheld_one(programme, partner_user):
    check_what_a_partner_reads(programme, partner_user)


# Three parks in two provinces, three non-consenting enterprises in each and a consenting one: RECP proposed in 2022,
# implemented (in the first park verified) in 2023, and an exchange between the consenting enterprise and another.
RICH = (
    [0, 0, 1],
    [(park, False) for park in (0, 0, 0, 1, 1, 1, 2, 2, 2)] + [(0, True)],
    [("recp", e, 1, 0, TECHNIQUES[e % 2], "proposed", 2022, True) for e in range(9)]
    + [("recp", e, 1, 0, TECHNIQUES[e % 2], "verified" if e < 3 else "implemented", 2023, True) for e in range(9)]
    + [("is-enterprise", 9, 1, 0, "", "implemented", 2022, True)],
)


def test_the_check_is_not_empty_a_rich_programme_shows_partners_totals_that_hold_withheld_money(partner_user):
    assert check_what_a_partner_reads(RICH, partner_user) >= 30


def check_what_a_partner_reads(programme, partner_user) -> int:
    """Every cell of every level and stage, with the demo's measures set aside so that the generated ones are all;
    returns how many cells shown to the partner hold withheld money."""
    with transaction.atomic():
        Measure.objects.all().delete()
        made = _build(*programme)
        rollup_rebuild(reason="test")
        partner = key_client(partner_user, requests_per_minute=100_000)
        cells, listed, park_province = _read_everything(partner)
        consented = dict(Enterprise.objects.values_list("pk", "partner_consent"))
        transaction.set_rollback(True)

    truth = {m.pk: m for m in made}
    closed = {m["id"] for m in listed if m["withheld"]}
    members: dict[tuple, set[int]] = {}
    for m in listed:
        for cell in _cells_of(m, park_province):
            members.setdefault(cell, set()).add(m["id"])
    assert set(cells) == set(members)  # the partner's own arithmetic finds every cell the endpoint has
    visible = {m["id"]: money(m["cost_usd"]) or 0 for m in listed if m["id"] not in closed}
    non_consenting = {e for m in listed for e in m["parties"] if not consented[e]}

    def usd(ids) -> Decimal:
        return sum((truth[i].cost_usd or Decimal(0) for i in ids), Decimal(0))

    # The withheld figures: each closed measure's money, and each non-consenting enterprise's, cell by cell.
    withheld = {frozenset({i}) for i in closed}
    withheld |= {
        frozenset(ids) for cell, ids in members.items() if cell[0] == "enterprise" and cell[1] in non_consenting
    }
    withheld_usd = {usd(ids) for ids in withheld if usd(ids)}  # a zero is withheld too, below, by the set itself

    published = {cell: row for cell, row in cells.items() if not row["suppressed"]}
    for cell, row in cells.items():
        if row["suppressed"]:
            assert row["cost_usd"] is None and row["cost_vnd"] is None and row["withheld"] == ["cost_usd", "cost_vnd"]
        else:
            assert money(row["cost_usd"]) == usd(members[cell]), cell  # a figure shown is the whole figure
    for cell, row in published.items():
        shown = money(row["cost_usd"])
        less_visible = shown - sum(visible.get(i, 0) for i in members[cell])
        assert shown not in withheld_usd and less_visible not in withheld_usd, cell
        assert frozenset(members[cell] & closed) not in withheld, cell
    # One cell less another it covers (a park less an enterprise, all years less one, potential less realised).
    for (cell, row), (other, other_row) in itertools.permutations(published.items(), 2):
        inside = members[other]
        if inside < members[cell]:
            rest = members[cell] - inside
            difference = money(row["cost_usd"]) - money(other_row["cost_usd"]) - sum(visible.get(i, 0) for i in rest)
            assert difference not in withheld_usd and frozenset(rest & closed) not in withheld, (cell, other)
    # Nor any sum and difference of every figure the partner reads (exact rational arithmetic).
    span = Span()
    for cell in published:
        span.add(members[cell] & closed)
    for ids in withheld:
        assert not span.contains(ids), sorted(ids)
    return sum(1 for cell in published if members[cell] & closed)
