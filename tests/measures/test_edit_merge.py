"""Two editors of one measure (the same account in two tabs counts as two): the second save is refused, and the form
it shows merges both edits line by line and field by field, against the version the form was opened on. A line one
side removed and the other did not touch stays removed; lines added on either side are kept; a line both changed
differently is named so that the person can choose."""

from decimal import Decimal

import pytest
from django.db.models import Count

from measures.models import Measure, Resource, ResourceFlow
from measures.services import FlowInput, measure_update
from tests.forms_helper import form_fields

pytestmark = pytest.mark.django_db

FORM = "measure-form"


def edit_url(measure: Measure) -> str:
    return f"/measures/{measure.pk}/edit/"


def two_tabs(client, measure: Measure) -> tuple[dict, dict]:
    """The edit form opened twice, before either is saved: the fields each tab would post."""
    url = edit_url(measure)
    return form_fields(client.get(url).content.decode(), form_id=FORM)[1], form_fields(
        client.get(url).content.decode(), form_id=FORM
    )[1]


def row_of(data: dict, prefix: str, resource: Resource) -> int:
    """The index of the form row that holds this resource."""
    total = int(data[f"{prefix}-TOTAL_FORMS"][0])
    for index in range(total):
        if data.get(f"{prefix}-{index}-resource") == [str(resource.pk)]:
            return index
    raise AssertionError(f"no row of {resource} in {prefix}")


def add_row(data: dict, prefix: str, **values) -> None:
    index = int(data[f"{prefix}-TOTAL_FORMS"][0])
    data[f"{prefix}-TOTAL_FORMS"] = [str(index + 1)]
    for name, value in values.items():
        data[f"{prefix}-{index}-{name}"] = [value]


def save_conflict_page(client, measure: Measure, response) -> None:
    """Save the merged form the conflict shows, as the browser posts it."""
    assert response.status_code == 409, response.content.decode()[:2000]
    _, data = form_fields(response.content.decode(), form_id=FORM)
    saved = client.post(edit_url(measure), data)
    assert saved.status_code == 302, saved.content.decode()[:3000]


def savings_of(measure: Measure) -> dict[str, Decimal]:
    return {s.resource.code: s.quantity.normalize() for s in measure.savings.select_related("resource")}


def flows_of(measure: Measure) -> dict[tuple[str, str], Decimal]:
    return {(f.resource.code, f.direction): f.quantity.normalize() for f in measure.flows.select_related("resource")}


@pytest.fixture
def recp_with_two_savings():
    measure = (
        Measure.objects.filter(kind=Measure.Kind.RECP)
        .annotate(lines=Count("savings"))
        .filter(lines__gte=2)
        .order_by("pk")
        .first()
    )
    assert measure is not None
    return measure


@pytest.fixture
def exchange_with_two_flows(staff_user):
    """An exchange whose flows are a forward flow of its own and a flow of water back."""
    measure = Measure.objects.filter(kind=Measure.Kind.IS, flows__isnull=False).order_by("pk").first()
    flows = [FlowInput(f.resource, f.quantity, f.unit, f.direction) for f in measure.flows.select_related("resource")]
    water = Resource.objects.get(code="water")
    flows.append(FlowInput(water, Decimal(400), "m3", ResourceFlow.Direction.REVERSE))
    measure_update(measure_id=measure.pk, changes={}, flows=flows, changed_by=staff_user)
    measure.refresh_from_db()
    assert measure.flows.count() == 2
    return measure


def test_a_saving_removed_in_one_tab_stays_removed_when_the_other_tab_changed_the_title(
    staff_client, recp_with_two_savings
):
    measure = recp_with_two_savings
    before = savings_of(measure)
    first, second = two_tabs(staff_client, measure)
    removed = measure.savings.select_related("resource").order_by("pk").first().resource

    first[f"savings-{row_of(first, 'savings', removed)}-DELETE"] = ["on"]
    assert staff_client.post(edit_url(measure), first).status_code == 302

    second["title_en"] = ["A title from the second tab"]
    save_conflict_page(staff_client, measure, staff_client.post(edit_url(measure), second))

    measure.refresh_from_db()
    assert measure.title_en == "A title from the second tab"
    assert savings_of(measure) == {code: q for code, q in before.items() if code != removed.code}


def test_a_saving_removed_here_stays_removed_when_the_other_tab_changed_the_title(staff_client, recp_with_two_savings):
    measure = recp_with_two_savings
    before = savings_of(measure)
    first, second = two_tabs(staff_client, measure)
    removed = measure.savings.select_related("resource").order_by("pk").first().resource

    first["title_en"] = ["A title from the first tab"]
    assert staff_client.post(edit_url(measure), first).status_code == 302

    second[f"savings-{row_of(second, 'savings', removed)}-DELETE"] = ["on"]
    save_conflict_page(staff_client, measure, staff_client.post(edit_url(measure), second))

    measure.refresh_from_db()
    assert measure.title_en == "A title from the first tab"
    assert savings_of(measure) == {code: q for code, q in before.items() if code != removed.code}


def test_a_saving_removed_in_one_tab_and_another_changed_in_the_other_gives_both(staff_client, recp_with_two_savings):
    measure = recp_with_two_savings
    lines = list(measure.savings.select_related("resource").order_by("pk"))
    removed, changed = lines[0].resource, lines[1].resource
    before = savings_of(measure)
    first, second = two_tabs(staff_client, measure)

    first[f"savings-{row_of(first, 'savings', removed)}-DELETE"] = ["on"]
    assert staff_client.post(edit_url(measure), first).status_code == 302

    second[f"savings-{row_of(second, 'savings', changed)}-quantity"] = ["77,5"]
    response = staff_client.post(edit_url(measure), second)
    assert not response.context["conflict"]["both"]  # different lines: nothing to choose
    save_conflict_page(staff_client, measure, response)

    measure.refresh_from_db()
    expected = {code: q for code, q in before.items() if code != removed.code}
    expected[changed.code] = Decimal("77.5")
    assert savings_of(measure) == expected


def test_lines_added_in_both_tabs_are_both_kept(staff_client, recp_with_two_savings):
    measure = recp_with_two_savings
    before = savings_of(measure)
    first, second = two_tabs(staff_client, measure)
    steam, diesel = Resource.objects.get(code="steam"), Resource.objects.get(code="diesel")

    add_row(first, "savings", resource=str(steam.pk), quantity="120", unit="GJ")
    assert staff_client.post(edit_url(measure), first).status_code == 302

    add_row(second, "savings", resource=str(diesel.pk), quantity="2,5", unit="t")
    save_conflict_page(staff_client, measure, staff_client.post(edit_url(measure), second))

    measure.refresh_from_db()
    assert savings_of(measure) == {**before, "steam": Decimal(120), "diesel": Decimal("2.5")}


def test_a_line_both_tabs_changed_differently_is_named_and_keeps_this_input(staff_client, recp_with_two_savings):
    measure = recp_with_two_savings
    lines = list(measure.savings.select_related("resource").order_by("pk"))
    both, other = lines[0].resource, lines[1].resource
    before = savings_of(measure)
    first, second = two_tabs(staff_client, measure)

    first[f"savings-{row_of(first, 'savings', both)}-quantity"] = ["1111"]
    first[f"savings-{row_of(first, 'savings', other)}-DELETE"] = ["on"]
    assert staff_client.post(edit_url(measure), first).status_code == 302

    second[f"savings-{row_of(second, 'savings', both)}-quantity"] = ["2222"]
    response = staff_client.post(edit_url(measure), second)
    assert response.status_code == 409
    named = " ".join(response.context["conflict"]["both"])
    assert both.name_vi in named and other.name_vi not in named
    page = response.content.decode()
    assert both.name_vi in page.split('id="conflict"')[1].split("</div>")[0]
    save_conflict_page(staff_client, measure, response)

    measure.refresh_from_db()
    assert savings_of(measure) == {both.code: Decimal(2222)}  # this tab's figure; the other removal kept
    assert other.code in before


def test_a_flow_removed_in_one_tab_stays_removed_when_the_other_tab_changed_another_flow(
    staff_client, exchange_with_two_flows
):
    measure = exchange_with_two_flows
    before = flows_of(measure)
    lines = list(measure.flows.select_related("resource").order_by("pk"))
    removed, changed = lines[0], lines[1]
    first, second = two_tabs(staff_client, measure)

    first[f"flows-{row_of(first, 'flows', removed.resource)}-DELETE"] = ["on"]
    assert staff_client.post(edit_url(measure), first).status_code == 302

    second[f"flows-{row_of(second, 'flows', changed.resource)}-quantity"] = ["450"]
    second["title_vi"] = ["Tên mới từ thẻ thứ hai"]
    save_conflict_page(staff_client, measure, staff_client.post(edit_url(measure), second))

    measure.refresh_from_db()
    assert measure.title_vi == "Tên mới từ thẻ thứ hai"
    key = (changed.resource.code, changed.direction)
    assert flows_of(measure) == {key: Decimal(450)}
    assert (removed.resource.code, removed.direction) in before


def test_a_flow_added_in_one_tab_is_kept_when_the_other_tab_removed_a_flow(staff_client, exchange_with_two_flows):
    measure = exchange_with_two_flows
    before = flows_of(measure)
    lines = list(measure.flows.select_related("resource").order_by("pk"))
    removed = lines[1]
    steam = Resource.objects.get(code="steam")
    first, second = two_tabs(staff_client, measure)

    add_row(first, "flows", resource=str(steam.pk), quantity="300", unit="GJ", direction="forward")
    assert staff_client.post(edit_url(measure), first).status_code == 302

    second[f"flows-{row_of(second, 'flows', removed.resource)}-DELETE"] = ["on"]
    save_conflict_page(staff_client, measure, staff_client.post(edit_url(measure), second))

    measure.refresh_from_db()
    expected = {k: v for k, v in before.items() if k != (removed.resource.code, removed.direction)}
    assert flows_of(measure) == {**expected, ("steam", "forward"): Decimal(300)}


def test_fields_merge_one_by_one(staff_client, recp_with_two_savings):
    """A field the other tab changed and this one did not takes theirs; a field this tab changed keeps this input."""
    measure = recp_with_two_savings
    first, second = two_tabs(staff_client, measure)
    first["title_en"] = ["From the first tab"]
    first["description_en"] = ["Description from the first tab"]
    assert staff_client.post(edit_url(measure), first).status_code == 302
    second["title_vi"] = ["Từ thẻ thứ hai"]
    response = staff_client.post(edit_url(measure), second)
    assert not response.context["conflict"]["both"]
    save_conflict_page(staff_client, measure, response)
    measure.refresh_from_db()
    assert (measure.title_en, measure.description_en, measure.title_vi) == (
        "From the first tab",
        "Description from the first tab",
        "Từ thẻ thứ hai",
    )
