"""An independent, deliberately plain aggregate of the measures: what every roll-up row must equal.

The stages are written out here, not imported: an oracle that read production's lists would agree with any mistake in
them."""

from decimal import Decimal

from measures.models import Measure
from reports.models import RollupRow

LIVE = {"identified", "proposed", "accepted", "implemented", "verified"}  # not rejected, not withdrawn
STAGES = {"potential": LIVE, "realised": {"implemented", "verified"}, "verified": {"verified"}}
FIGURES = 5  # kWh, m3, USD, VND, tCO2e


def from_scratch() -> dict:
    table: dict = {}
    for m in Measure.objects.select_related("park"):
        participants = {m.enterprise_id, m.source_enterprise_id, m.sink_enterprise_id} - {None}
        for stage, statuses in STAGES.items():
            if m.status not in statuses:
                continue
            if stage == "verified":
                values = (m.electricity_kwh_verified, m.water_m3_verified, m.cost_usd, m.cost_vnd, m.co2e_verified_t)
            else:
                values = (m.electricity_kwh, m.water_m3, m.cost_usd, m.cost_vnd, m.co2e_t)
            values = [v or Decimal(0) for v in values]
            for level, scope in [("programme", 0), ("province", m.park.province_id), ("park", m.park_id)]:
                for kind in ("all", m.kind):
                    for technique in [""] + ([m.technique] if kind == "recp" and m.technique else []):
                        for year in (0, m.reference_year):
                            row = table.setdefault(
                                (level, scope, kind, technique, stage, year), [Decimal(0)] * FIGURES + [0, set()]
                            )
                            for i in range(FIGURES):
                                row[i] += values[i]
                            row[FIGURES] += 1
                            row[FIGURES + 1] |= participants
    return {
        key: (*(v.quantize(Decimal("0.001")) for v in row[:FIGURES]), row[FIGURES], len(row[FIGURES + 1]))
        for key, row in table.items()
    }


def table_now() -> dict:
    return {
        (r.level, r.scope_id, r.kind, r.technique, r.stage, r.year): (
            r.electricity_kwh.quantize(Decimal("0.001")),
            r.water_m3.quantize(Decimal("0.001")),
            r.cost_usd.quantize(Decimal("0.001")),
            r.cost_vnd.quantize(Decimal("0.001")),
            r.co2e_t.quantize(Decimal("0.001")),
            r.measure_count,
            r.enterprise_count,
        )
        for r in RollupRow.objects.all()
    }


def differences(expected: dict, actual: dict) -> list:
    keys = set(expected) | set(actual)
    return sorted((k, expected.get(k), actual.get(k)) for k in keys if expected.get(k) != actual.get(k))[:10]
