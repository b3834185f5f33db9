"""The import benchmark, run in a fresh process so that its peak memory is its own: a spreadsheet of N measures with
two savings rows each, checked (the preview) and then written, against a floor measured in the same run (reading the
same file and inserting the same rows with bulk_create, no checks).

Usage (from bench.run): python -m bench.imports --rows 10000; prints one JSON line.
"""

import argparse
import json
import tempfile
import time
from decimal import Decimal
from pathlib import Path

PREFIX = "bench-import-"


def write_file(path: str, rows: int, enterprise_codes: list[str]) -> None:
    from openpyxl import Workbook

    from measures.importer import MEASURE_COLUMNS

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Measures")
    keys = [c.key for c in MEASURE_COLUMNS]
    sheet.append([c.en for c in MEASURE_COLUMNS])
    for n in range(rows):
        values = {
            "reference": f"{PREFIX}{n:06d}",
            "kind": "recp",
            "enterprise": enterprise_codes[n % len(enterprise_codes)],
            "technique": "equipment_modification",
            "title_en": f"Variable speed drive on pump {n}",
            "identified_on": "12/09/2023",
            "estimate_year": 2023,
            "annual_cost_saving": 1200 + n,
            "cost_currency": "USD",
            "saving_1_resource": "electricity",
            "saving_1_quantity": 10_000 + n,
            "saving_1_unit": "kWh",
            "saving_2_resource": "water",
            "saving_2_quantity": 500 + n,
            "saving_2_unit": "m3",
        }
        sheet.append([values.get(k) for k in keys])
    book.save(path)


def floor(path: str) -> float:
    """Read the file and insert its measures and savings as they are: no checks, no figures, no audit."""
    import datetime

    from django.db import transaction

    from ecopark.spreadsheet import read_xlsx
    from enterprises.models import Enterprise
    from measures.models import Measure, MeasureSaving, Resource

    started = time.perf_counter()
    with open(path, "rb") as handle:
        rows = read_xlsx(handle).sheets[0].rows[1:]
    enterprises = {e.code: e for e in Enterprise.objects.all()}
    electricity, water = Resource.objects.get(code="electricity"), Resource.objects.get(code="water")
    with transaction.atomic():
        measures = []
        for _number, cells in rows:
            enterprise = enterprises[cells[3]]
            measures.append(Measure(reference=cells[0], kind="recp", enterprise=enterprise,
                                    park_id=enterprise.park_id, technique=cells[4], title_en=cells[9],
                                    identified_on=datetime.date(2023, 9, 12), estimate_year=2023))  # fmt: skip
        Measure.objects.bulk_create(measures, batch_size=1000)
        savings = []
        for measure in measures:
            savings.append(MeasureSaving(measure=measure, resource=electricity, quantity=Decimal(10_000),
                                         unit="kWh", quantity_canonical=Decimal(10_000)))  # fmt: skip
            savings.append(MeasureSaving(measure=measure, resource=water, quantity=Decimal(500), unit="m3",
                                         quantity_canonical=Decimal(500)))  # fmt: skip
        MeasureSaving.objects.bulk_create(savings, batch_size=1000)
        transaction.set_rollback(True)
    return time.perf_counter() - started


def remove_imported() -> None:
    """Take the benchmark's measures out again, in SQL (they were never counted in the roll-up; their audit entries
    stay, as they would)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as c:
        c.execute(
            "CREATE TEMP TABLE bench_gone ON COMMIT DROP AS SELECT id FROM measures_measure WHERE reference LIKE %s",
            [PREFIX + "%"],
        )
        for table in ("measures_co2etrailline", "measures_statuschange", "measures_measuresaving",
                      "measures_resourceflow", "measures_evidence"):  # fmt: skip
            c.execute(f"DELETE FROM {table} WHERE measure_id IN (SELECT id FROM bench_gone)")  # noqa: S608
        c.execute("DELETE FROM reports_rolluppending WHERE measure_id IN (SELECT id FROM bench_gone)")
        c.execute("DELETE FROM measures_measure WHERE id IN (SELECT id FROM bench_gone)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--file", help="where to write the spreadsheet (default: a temporary file)")
    args = parser.parse_args()

    from bench.run import peak_rss_mb, setup_django

    setup_django()
    from celery import current_app

    current_app.conf.task_always_eager = False  # the roll-up after the import is queued, as in production
    current_app.conf.broker_url = "memory://"
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from ecopark.roles import Role, ensure_role_groups
    from ecopark.spreadsheet import read_xlsx
    from enterprises.models import Enterprise
    from measures.importer import Importer
    from measures.models import Measure

    ensure_role_groups()
    user, _ = get_user_model().objects.get_or_create(username="bench-importer")
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    remove_imported()
    codes = list(Enterprise.objects.order_by("pk").values_list("code", flat=True)[:500])
    path = args.file or str(Path(tempfile.mkdtemp(prefix="ecopark-bench-")) / "import.xlsx")
    write_file(path, args.rows, codes)
    baseline_mb = peak_rss_mb()

    floor_s = floor(path)
    timings = {}
    for step, commit in (("check", False), ("commit", True)):
        started = time.perf_counter()
        with open(path, "rb") as handle:
            workbook = read_xlsx(handle)
        outcome = Importer(user, language="en").run(workbook, commit=commit)
        timings[step] = time.perf_counter() - started
        assert outcome.ok, outcome.errors[:5]
        assert outcome.counts["measures"]["create"] == args.rows
    written = Measure.objects.filter(reference__startswith=PREFIX).count()
    assert written == args.rows, written
    peak_mb = peak_rss_mb()
    remove_imported()
    print(json.dumps({"rows": args.rows, "floor": floor_s, **timings, "peak_mb": peak_mb,
                      "baseline_mb": baseline_mb}))  # fmt: skip


if __name__ == "__main__":
    main()
