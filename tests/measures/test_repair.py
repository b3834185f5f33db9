"""manage.py repair_lines: the lines an edit removed without being asked are found in the audit trail, listed,
restored with their figures when told to (audited as a repair), and not found again."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation

from ecopark.audit import audit_context
from ecopark.models import AuditEntry
from enterprises.models import Enterprise
from measures.models import Measure, MeasureSaving, Resource, ResourceFlow
from measures.services import SavingInput, figures_recompute, measure_create
from reports.models import RollupPending
from tests.factories import recp_measure

pytestmark = pytest.mark.django_db


def resource(code: str) -> Resource:
    return Resource.objects.get(code=code)


def lose_lines_as_the_old_edit_form_did(measure: Measure, user, *, title: str, keep: list[str] = ()) -> None:
    """What the bug did in one web request: the measure saved with the changed title, then every line it was not
    given deleted (`keep`: resource codes of lines the person had changed, written again with other values)."""
    with audit_context(actor=user, channel=AuditEntry.Channel.WEB):
        measure.title_en = title
        measure.version += 1
        measure.save()
        kept = [
            MeasureSaving(
                measure=measure, resource=s.resource, quantity=s.quantity + 1, unit=s.unit,
                quantity_canonical=s.quantity_canonical + 1,
            )
            for s in measure.savings.select_related("resource") if s.resource.code in keep
        ]  # fmt: skip
        measure.savings.all().delete()
        measure.flows.all().delete()
        from ecopark.audit import record_created

        record_created(MeasureSaving.objects.bulk_create(kept))
        figures_recompute(Measure.objects.filter(pk=measure.pk))


def run(*args, language: str = "en") -> str:
    out = io.StringIO()
    with translation.override(language):
        call_command("repair_lines", *args, stdout=out, stderr=out)
    return out.getvalue()


def lines_of(measure: Measure) -> list[tuple]:
    savings = measure.savings.order_by("resource__code")
    flows = measure.flows.order_by("resource__code")
    return [
        *[(s.resource.code, s.quantity, s.unit, s.quantity_canonical, s.verified_quantity) for s in savings],
        *[(f.resource.code, f.quantity, f.unit, f.quantity_canonical, f.direction) for f in flows],
    ]


@pytest.fixture
def damaged(staff_user):
    """An RECP measure and an exchange that lost their lines to an edit of their title, and their state before."""
    recp = measure_create(
        measure=recp_measure(Enterprise.objects.get(code="demo-01"), reference="repair-recp"),
        savings=[
            SavingInput(resource("electricity"), Decimal(120000), "kWh", Decimal(110000)),
            SavingInput(resource("diesel"), Decimal(10000), "L"),
            SavingInput(resource("water"), Decimal(1500), "m3"),
        ],
    )
    exchange = Measure.objects.filter(kind=Measure.Kind.IS, flows__isnull=False).order_by("pk").first()
    exchange_before = lines_of(exchange)
    recp_before = lines_of(recp)
    figures = {f: getattr(recp, f) for f in ("electricity_kwh", "water_m3", "co2e_t", "electricity_kwh_verified")}
    lose_lines_as_the_old_edit_form_did(recp, staff_user, title="Compressed air", keep=["water"])
    lose_lines_as_the_old_edit_form_did(exchange, staff_user, title="Fly ash to the brickworks")
    recp.refresh_from_db()
    assert recp.electricity_kwh == 0 and recp.co2e_t == 0  # the loss, as users saw it
    return recp, recp_before, figures, exchange, exchange_before


def test_a_dry_run_lists_what_was_lost_when_and_by_whom_and_changes_nothing(damaged, staff_user):
    recp, _before, _figures, exchange, _exchange_before = damaged
    audit = AuditEntry.objects.count()
    out = run()
    assert "repair-recp" in out and exchange.reference in out and staff_user.username in out
    recp_part = out[out.index("repair-recp") : out.index(exchange.reference)] if out.index("repair-recp") < out.index(
        exchange.reference
    ) else out[out.index("repair-recp") :]  # fmt: skip
    assert "120000.0000 kWh" in recp_part and "110000.0000" in recp_part and "10000.0000 L" in recp_part
    assert "1500" not in recp_part  # the water saving was changed on purpose, not lost
    assert "--apply" in out
    assert recp.savings.count() == 1 and AuditEntry.objects.count() == audit


def test_apply_restores_the_lines_and_their_figures_audited_as_a_repair_and_a_second_run_finds_nothing(damaged):
    recp, before, figures, exchange, exchange_before = damaged
    version = recp.version
    RollupPending.objects.all().delete()
    out = run("--apply")
    assert "restored" in out
    recp.refresh_from_db()
    restored = {row[0]: row for row in lines_of(recp)}
    expected = {row[0]: row for row in before}
    assert restored["electricity"] == expected["electricity"] and restored["diesel"] == expected["diesel"]
    assert restored["water"][1] == expected["water"][1] + 1  # the changed line stays as the person changed it
    assert recp.electricity_kwh == figures["electricity_kwh"] and recp.co2e_t == figures["co2e_t"]
    assert recp.electricity_kwh_verified == figures["electricity_kwh_verified"]
    assert recp.co2e_trail.filter(resource__code="diesel", result_t=Decimal("26.762")).exists()
    assert recp.version == version + 1  # an edit form opened before the repair cannot save over it
    assert sorted(lines_of(exchange)) == sorted(exchange_before)
    assert RollupPending.objects.filter(measure_id__in=[recp.pk, exchange.pk]).count() == 2
    repairs = AuditEntry.objects.filter(channel=AuditEntry.Channel.REPAIR, action="create")
    assert repairs.filter(content_type__model="measuresaving", subject=f"measures.measure:{recp.pk}").count() == 2
    assert repairs.filter(content_type__model="resourceflow", subject=f"measures.measure:{exchange.pk}").exists()

    again = run()
    assert "No measure has lines removed" in again
    assert "Không có giải pháp nào bị mất dòng" in run(language="vi")
    assert run("--apply") == again
    assert MeasureSaving.objects.filter(measure=recp).count() == 3


def test_a_line_removed_on_purpose_while_others_stay_is_not_a_loss(staff_user):
    measure = measure_create(
        measure=recp_measure(Enterprise.objects.get(code="demo-02"), reference="repair-on-purpose"),
        savings=[
            SavingInput(resource("electricity"), Decimal(1000), "kWh"),
            SavingInput(resource("water"), Decimal(50), "m3"),
        ],
    )
    with audit_context(actor=staff_user, channel=AuditEntry.Channel.WEB):
        measure.title_en = "Only electricity now"
        measure.save()
        measure.savings.get(resource__code="water").delete()  # as the fixed edit form removes a ticked row
    assert "repair-on-purpose" not in run()


def test_a_line_entered_again_since_is_not_restored_over_it(damaged, staff_user):
    recp = damaged[0]
    with audit_context(actor=staff_user, channel=AuditEntry.Channel.WEB):
        from ecopark.audit import record_created
        from measures.services import saving_line

        line = saving_line(recp, SavingInput(resource("electricity"), Decimal(125000), "kWh"))
        record_created(MeasureSaving.objects.bulk_create([line]))
    out = run()
    recp_part = out[out.index("repair-recp") :]
    assert "kWh" not in recp_part.split("\n", 2)[1] and "10000.0000 L" in recp_part
    run("--apply")
    assert recp.savings.get(resource__code="electricity").quantity == Decimal(125000)
    assert recp.savings.filter(resource__code="diesel").exists()


def test_flows_alone_are_found_too(staff_user):
    exchange = Measure.objects.filter(kind=Measure.Kind.IS, flows__isnull=False).order_by("-pk").first()
    flow = exchange.flows.first()
    count = exchange.flows.count()
    lose_lines_as_the_old_edit_form_did(exchange, staff_user, title="Steam to the neighbour")
    assert f"{flow.resource.name_en}: {flow.quantity} {flow.unit}" in run("--reference", exchange.reference)
    run("--apply", "--reference", exchange.reference)
    assert ResourceFlow.objects.filter(measure=exchange).count() == count
