"""Fill PostgreSQL with a realistic programme at scale, in SQL (generate_series), so that 1,000,000 measures take
about a minute. Every row satisfies the model's constraints; figures are consistent with the grid factors."""

import time

from django.db import connection, transaction

TABLES = ", ".join([
    "ecopark_auditentry", "measures_co2etrailline", "measures_statuschange", "measures_resourceflow",
    "measures_measuresaving", "reports_rolluprow", "reports_rolluppending", "reports_rolluprun", "measures_measure",
    "enterprises_enterprise", "enterprises_organisation", "parks_parkmembership", "parks_park",
    "parks_provincestatistic", "parks_province",
])  # fmt: skip


def generate(*, measures: int, parks: int, enterprises: int) -> dict[str, float]:
    """Replace the places and measures with generated ones; returns seconds per step."""
    timings: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as c:
        started = time.perf_counter()
        c.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
        c.execute(
            "INSERT INTO parks_province (code, name_vi, name_en) "
            "SELECT 'bench-' || i, 'Tỉnh thử ' || i, 'Bench province ' || i FROM generate_series(1, 12) i"
        )
        c.execute(
            "INSERT INTO parks_park (province_id, code, name_vi, name_en, district, operator, area_ha, "
            "programme_status, source, search_text) SELECT 1 + (i %% 12), 'bench-park-' || i, 'KCN thử ' || i, "
            "'Bench park ' || i, '', '', 100 + i, 'full', '', "
            "'bench-park-' || i || ' kcn thu ' || i || ' bench park ' || i || '  ' FROM generate_series(1, %s) i",
            [parks],
        )
        c.execute(
            "INSERT INTO enterprises_enterprise (park_id, code, name, sector_code, size, joined_programme, "
            "partner_consent, search_text) SELECT 1 + (i %% %s), 'bench-ent-' || i, 'Doanh nghiệp thử ' || i, "
            "'2410', 'medium', true, i %% 2 = 0, 'bench-ent-' || i || ' doanh nghiep thu ' || i "
            "FROM generate_series(1, %s) i",
            [parks, enterprises],
        )
        timings["places"] = time.perf_counter() - started
        started = time.perf_counter()
        # Statuses: 40% identified, 15% proposed, 10% accepted, 20% implemented, 10% verified, 5% closed.
        c.execute(
            """
            WITH g AS (
              -- h mixes the bits of i, so that status, technique, kind and year vary within one enterprise
              -- (taken from i alone, they would repeat with the enterprise: i %% 20 is fixed by i %% 20,000)
              SELECT i, h, 1 + (i %% %(ent)s) AS e, (h %% 20)::int AS s, (2019 + (h / 20) %% 7)::int AS y,
                     (h / 140) %% 10 = 0 AS is_is
              FROM generate_series(1, %(n)s) i, LATERAL (SELECT abs(hashint4(i)::bigint) AS h) mix
            ), st AS (
              SELECT g.*, CASE WHEN s < 8 THEN 'identified' WHEN s < 11 THEN 'proposed' WHEN s < 13 THEN 'accepted'
                               WHEN s < 17 THEN 'implemented' WHEN s < 19 THEN 'verified'
                               ELSE 'rejected' END AS status,
                     (1000 + (i * 37) %% 200000)::numeric AS kwh, ((i * 13) %% 500)::numeric AS m3
              FROM g
            )
            INSERT INTO measures_measure (
              reference, kind, park_id, enterprise_id, technique, exchange_type, source_enterprise_id,
              sink_enterprise_id, title_vi, title_en, description_vi, description_en, status, status_reason,
              identified_on, estimate_year, implemented_on, verified_on, investment, investment_currency,
              annual_cost_saving, cost_currency, co2e_method, co2e_justification, co2e_t, co2e_computed_t,
              co2e_biogenic_t, reference_year, electricity_kwh, water_m3, cost_usd, cost_vnd,
              electricity_kwh_verified, water_m3_verified, co2e_verified_t, figures_note, version, created_at,
              updated_at, search_text)
            SELECT 'bench-' || i, CASE WHEN is_is THEN 'is' ELSE 'recp' END, ent.park_id,
              CASE WHEN is_is THEN NULL ELSE e END,
              CASE WHEN is_is THEN '' ELSE (ARRAY['good_housekeeping','input_change','process_control',
                'equipment_modification','technology_change','onsite_recovery','useful_byproduct',
                'product_modification'])[1 + (h / 1400) %% 8] END,
              CASE WHEN is_is THEN (ARRAY['byproduct','utility_sharing','shared_services'])[1 + (h / 1400) %% 3]
                   ELSE '' END,
              CASE WHEN is_is THEN e END,
              -- enterprise j sits in park 1 + j %% parks, so j +/- parks is a neighbour in the same park
              CASE WHEN is_is THEN CASE WHEN e + %(parks)s <= %(ent)s THEN e + %(parks)s ELSE e - %(parks)s END END,
              'Giải pháp thử ' || i, 'Bench measure ' || i, '', '', status,
              CASE WHEN status = 'rejected' THEN 'bench' ELSE '' END,
              make_date(y, 1 + i %% 12, 1), y,
              CASE WHEN status IN ('implemented','verified') THEN make_date(y, 1 + i %% 12, 1) END,
              CASE WHEN status = 'verified' THEN make_date(y, 1 + i %% 12, 1) END,
              kwh / 5, 'USD', kwh / 10, 'USD', '', '',
              round(kwh * f.value / 1000, 3), round(kwh * f.value / 1000, 3), 0, y, kwh, m3, kwh / 10,
              round(kwh / 10 * 23500), CASE WHEN status = 'verified' THEN kwh * 0.9 END,
              CASE WHEN status = 'verified' THEN m3 * 0.9 END,
              CASE WHEN status = 'verified' THEN round(kwh * 0.9 * f.value / 1000, 3) END, '', 1, now(), now(),
              -- what save() folds (reference and titles), so that searches read real text
              'bench-' || i || ' giai phap thu ' || i || ' bench measure ' || i
            FROM st JOIN enterprises_enterprise ent ON ent.id = st.e
            JOIN measures_emissionfactor f ON f.year = LEAST(y, 2024) AND f.region = 'VN'
            """,
            {"n": measures, "ent": enterprises, "parks": parks},
        )
        timings["measures"] = time.perf_counter() - started
        started = time.perf_counter()
        c.execute(
            "INSERT INTO measures_measuresaving (measure_id, resource_id, quantity, unit, quantity_canonical, "
            "verified_quantity, verified_quantity_canonical) SELECT m.id, r.id, m.electricity_kwh, 'kWh', "
            "m.electricity_kwh, m.electricity_kwh_verified, m.electricity_kwh_verified FROM measures_measure m, "
            "measures_resource r WHERE r.code = 'electricity'"
        )
        c.execute(
            "INSERT INTO measures_measuresaving (measure_id, resource_id, quantity, unit, quantity_canonical, "
            "verified_quantity, verified_quantity_canonical) SELECT m.id, r.id, m.water_m3, 'm3', m.water_m3, "
            "m.water_m3_verified, m.water_m3_verified FROM measures_measure m, measures_resource r "
            "WHERE r.code = 'water' AND m.water_m3 > 0"
        )
        c.execute(
            "INSERT INTO measures_statuschange (measure_id, from_status, to_status, changed_at, effective_on, "
            "reason) SELECT id, '', status, now(), identified_on, status_reason FROM measures_measure"
        )
        timings["lines"] = time.perf_counter() - started
        started = time.perf_counter()
        # The audit trail an import leaves: one entry per measure (history pages and the admin's trail read it).
        c.execute(
            "INSERT INTO ecopark_auditentry (at, channel, action, content_type_id, object_id, object_repr, changes, "
            "subject) SELECT m.created_at, 'import', 'create', ct.id, m.id::text, m.reference, "
            "jsonb_build_object('reference', jsonb_build_array(NULL, m.reference), 'status', "
            "jsonb_build_array(NULL, m.status), 'electricity_kwh', jsonb_build_array(NULL, m.electricity_kwh::text)), "
            "'measures.measure:' || m.id FROM measures_measure m, django_content_type ct "
            "WHERE ct.app_label = 'measures' AND ct.model = 'measure'"
        )
        timings["audit"] = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as c:
        # As autovacuum leaves a table after a large insert: statistics, and a visibility map for index-only scans.
        c.execute("VACUUM ANALYZE")
    timings["analyze"] = time.perf_counter() - started
    return timings


def generated(*, measures: int, enterprises: int) -> bool:
    """Whether the register holds a generated programme of this size already (to reuse between runs)."""
    from ecopark.models import AuditEntry
    from enterprises.models import Enterprise
    from measures.models import Measure

    return (
        Measure.objects.filter(reference__startswith="bench-").exclude(reference__startswith="bench-import-").count()
        == measures
        and Enterprise.objects.filter(code__startswith="bench-ent-").count() == enterprises
        and AuditEntry.objects.filter(subject="measures.measure:1").exists()  # made by this version of generate()
    )
