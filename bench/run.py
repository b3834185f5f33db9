"""`make bench`: generate a programme at scale in PostgreSQL, time the roll-up against floors measured in the same
run, and write the figures to BENCHMARKS.md. Usage: python -m bench.run [--measures N] [--runs K]."""

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecopark.settings.dev")
    import django

    django.setup()


def median_seconds(job, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        job()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                         if line.startswith("MemTotal")))  # fmt: skip
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SHOW server_version")
        pg = c.fetchone()[0]
    memory = f"{memory_kb / 1024 / 1024:.0f} GiB"
    return f"{os.cpu_count()} cores ({cpu}), {memory}, PostgreSQL {pg}, Python {platform.python_version()}"


FLOOR_SQL = """
SELECT m.park_id, p.province_id, m.kind, m.technique, m.status, m.reference_year,
       SUM(m.electricity_kwh), SUM(m.water_m3), SUM(m.cost_usd), SUM(m.co2e_t), COUNT(*),
       COUNT(DISTINCT m.enterprise_id)
FROM measures_measure m JOIN parks_park p ON p.id = m.park_id
GROUP BY m.park_id, p.province_id, m.kind, m.technique, m.status, m.reference_year
"""


def floor_group_by() -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(FLOOR_SQL)
        c.fetchall()


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries that across exec, so a
    child started by a large parent would report the parent's size."""
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def rebuild_rss_mb() -> float:
    """Peak RSS of a fresh process that only rebuilds the table (Django loaded), in MB."""
    code = (
        "import bench.run as b; b.setup_django(); "
        "from reports.services import rollup_rebuild; rollup_rebuild(reason='bench: memory'); print(b.peak_rss_mb())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return float(out.stdout.strip().splitlines()[-1])


def baseline_rss_mb() -> float:
    code = "import bench.run as b; b.setup_django(); print(b.peak_rss_mb())"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    return float(out.stdout.strip().splitlines()[-1])


def incremental_ms(runs: int) -> tuple[float, float]:
    """Median task time of applying one measure edit, and of one status change, in ms."""
    from decimal import Decimal

    from measures.models import Measure, Resource
    from measures.services import SavingInput, allowed_transitions, measure_transition, measure_update
    from reports.services import rollup_apply_pending

    electricity = Resource.objects.get(code="electricity")
    # Edits change figures; status changes from accepted to implemented add the measure to the realised stage.
    edit_ids = Measure.objects.filter(status="identified").order_by("?").values_list("pk", flat=True)[:runs]
    step_ids = Measure.objects.filter(status="accepted").order_by("?").values_list("pk", flat=True)[:runs]
    edits, steps = [], []
    for i, pk in enumerate(x for pair in zip(edit_ids, step_ids, strict=False) for x in pair):
        if i % 2 == 0:
            measure_update(measure_id=pk, changes={}, savings=[SavingInput(electricity, Decimal(12345 + i), "kWh")])
            bucket = edits
        else:
            measure = Measure.objects.get(pk=pk)
            measure_transition(measure=measure, to_status=allowed_transitions(measure.status)[0], changed_by=None,
                               effective_on=measure.identified_on + datetime.timedelta(days=30))  # fmt: skip
            bucket = steps
        started = time.perf_counter()
        applied = rollup_apply_pending()
        bucket.append(time.perf_counter() - started)
        assert applied == 1, applied
    return statistics.median(edits) * 1000, statistics.median(steps) * 1000


SECTIONS = ("rollup", "api", "import", "dashboards", "pages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--measures", type=int, default=1_000_000)
    parser.add_argument("--parks", type=int, default=60)
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--skip-rollup", action="store_true", help="only the API benchmark")
    parser.add_argument("--skip-api", action="store_true", help="only the roll-up benchmark")
    parser.add_argument("--api-seconds", type=int, default=15)
    parser.add_argument("--skip-import", action="store_true", help="leave out the spreadsheet import benchmark")
    parser.add_argument("--skip-dashboards", action="store_true", help="leave out the dashboards benchmark")
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--skip-pages", action="store_true", help="leave out the pages and endpoints benchmark")
    parser.add_argument("--skip-load", action="store_true", help="time the pages, leave out their 20-client load")
    parser.add_argument("--only", action="append", choices=SECTIONS, default=[],
                        help="only this benchmark (may be given more than once)")  # fmt: skip
    parser.add_argument("--only-pages", action="store_true", help="only the pages and endpoints benchmark")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the register already generated (as many measures, from an earlier run)")  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("ROLLUP_DEBOUNCE_SECONDS", "3600")  # the benchmark applies pending changes itself
    os.environ.setdefault("DEBUG", "false")  # pages are timed as production renders them
    # Generating a million measures is one long statement: this process runs as a worker would (the task timeout);
    # the servers it starts keep the web one (bench/api.py).
    os.environ.setdefault("BENCH_WEB_STATEMENT_TIMEOUT_MS", os.environ.get("DB_STATEMENT_TIMEOUT_MS", "30000"))
    os.environ["DB_STATEMENT_TIMEOUT_MS"] = os.environ.get("DB_TASK_STATEMENT_TIMEOUT_MS", "1500000")
    if args.only_pages:
        args.only.append("pages")
    if args.only:
        for section in SECTIONS:
            setattr(args, f"skip_{section}", section not in args.only)
    setup_django()
    from django.db import connection

    assert connection.vendor == "postgresql", "make bench measures PostgreSQL: set DATABASE_URL"
    from celery import current_app

    current_app.conf.task_always_eager = False  # schedule nothing in-process: the benchmark times the service
    current_app.conf.broker_url = "memory://"

    from bench.generate import generate, generated
    from measures.models import Measure

    if args.reuse and generated(measures=args.measures, enterprises=args.enterprises):
        print(f"reusing the {args.measures:,} measures generated earlier", flush=True)
    else:
        print(f"generating {args.measures:,} measures ...", flush=True)
        gen = generate(measures=args.measures, parks=args.parks, enterprises=args.enterprises)
        print(f"generated in {sum(gen.values()):.1f} s: {gen}", flush=True)
    count = Measure.objects.count()

    if not args.skip_rollup:
        rollup_section(args, count)
    if not args.skip_api:
        api_section(args, count)
    if not args.skip_import:
        import_section(args, count)
    if not args.skip_dashboards:
        dashboards_section(args, count)
    if not args.skip_pages:
        pages_section(args, count)


def pages_section(args, count: int) -> None:
    """Every page and list endpoint (bench/pages.py), then the 20-client load of a mix of them."""
    from bench import pages
    from reports.services import rollup_rebuild

    rollup_rebuild(reason="bench: pages")  # the dashboards and the home page read the table: bring it up to date
    print("pages and endpoints ...", flush=True)
    s = pages.scene()
    figures = pages.measure_pages(s)
    floor = figures["floor"]
    met = sum(pages.verdict(row) == "met" for row in figures["pages"].values())
    from django.conf import settings

    cache = "Redis" if "Redis" in settings.CACHES["default"]["BACKEND"] else "a local-memory cache"
    section = [
        "## Pages and API endpoints",
        "",
        f"Run {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {machine()}.",
        f"Data: {count:,} measures, {args.enterprises:,} enterprises, {args.parks} parks (`bench/generate.py`, with "
        f"one audit entry per measure); the park shown is the largest ({s.park.code}), the enterprise the one of it "
        f"with most RECP measures ({s.enterprise.code}), the measures accepted ones of that park. Server time through "
        f"Django's test client in one process (no network), `ecopark.settings.dev` with DEBUG off and {cache}: up to "
        f"{pages.REQUESTS} sequential requests per row after a warm-up (as many as fit in {pages.BUDGET_S:.0f} s, at "
        f"least {pages.MIN_REQUESTS}); *first view after a write*: the median of {pages.COLD_RUNS} requests each made "
        "just after the register's and the measures' versions moved, as any write moves them (so every count and "
        "figure kept between writes is computed again), with the most queries any of them made. Exports are read "
        f"as a browser reads them: *{pages.FIRST_ROW}* is a streamed CSV up to its first row of data (the time until "
        f"the download starts), *{pages.WHOLE}* is the whole response. {met} of {len(figures['pages'])} rows meet "
        f"the target (< {pages.TARGET_MS} ms at p95, and on the first view after a write).",
        "",
        *pages.page_table(figures),
        "",
        f"Floors, in the same run (first and last, together): `/healthz` (one `SELECT 1`) through the same client and "
        f"middleware for pages, p95 {floor['page']:.1f} ms; `bench/urls.py`'s bare endpoint (the same 50 measures "
        f"as `/api/v1/measures/` with `.values()`, no authentication, no count) for the API, p95 "
        f"{floor['api']:.1f} ms. *queries*: SQL statements of one request, counted on a warm one. The log-in page, "
        "the forms, the exports, the schema and the admin are timed here and left out of the load below.",
        "",
    ]
    write_section(Path(args.output), "## Pages and API endpoints", "\n".join(section))
    print(f"written to {args.output}", flush=True)
    if args.skip_load:
        return

    print("load: 20 clients on a mix of pages and API reads ...", flush=True)
    load = pages.measure_load(s)
    mix, floor = load["load"], load["floor"]
    print(f"load {load}", flush=True)
    no_timeout = mix["timeouts"] == 0 and mix["errors"] == 0 and mix["status_errors"] == 0
    rows = [
        (f"p95 latency, {load['clients']} clients, the mix", f"{mix['p95_ms']:.0f} ms", f"{floor['p95_ms']:.0f} ms",
         f"{mix['p95_ms'] / floor['p95_ms']:.1f}x", "< 300 ms", "met" if mix["p95_ms"] < 300 else "**NOT met**"),
        ("Median latency", f"{mix['p50_ms']:.0f} ms", f"{floor['p50_ms']:.0f} ms", "-", "-", "-"),
        ("Throughput", f"{mix['rps']:.0f} req/s", f"{floor['rps']:.0f} req/s", f"{mix['rps'] / floor['rps']:.0%}",
         "-", "-"),
        ("Requests answered / timed out (10 s) / errors / 4xx-5xx", f"{mix['requests']:,} / {mix['timeouts']} / "
         f"{mix['errors'] - mix['timeouts']} / {mix['status_errors']}", "-", "-", "no timeout, no error",
         "met" if no_timeout else "**NOT met**"),
    ]  # fmt: skip
    write_table_section(
        Path(args.output),
        "## Load: pages and API reads together",
        data=(
            f"Data: {count:,} measures. gunicorn with production settings ({load['workers']} sync workers, 60 s "
            f"worker timeout, {int(os.environ['BENCH_WEB_STATEMENT_TIMEOUT_MS']) // 1000} s statement timeout), "
            f"Redis cache, wrk on loopback with {load['clients']} connections for {load['seconds']} s, each request "
            f"one of {load['lines']} rows of the table above at random ({load['pages']} pages as programme staff or a "
            f"park manager, with a session; {load['api']} API reads with a partner key). No write during the load: "
            "what pages keep between writes stays kept (the first view after a write is in the table above)."
        ),
        rows=rows,
        floor=(
            "Floor: `bench/urls.py`'s bare endpoint under the same 20 clients, 15 s before and 15 s after the mix "
            "(averaged). With 20 clients on 2 cores every request queues behind others, so the p95 of the mix "
            "follows throughput: read it against the floor's own p95 in the same run."
        ),
    )
    print(f"written to {args.output}", flush=True)


def dashboards_section(args, count: int) -> None:
    from bench.dashboards import REQUESTS, measure_dashboards
    from reports.services import rollup_rebuild

    rollup_rebuild(reason="bench: dashboards")  # the dashboards read the table: bring it up to date first
    figures = measure_dashboards()
    print(f"dashboards {figures}", flush=True)
    floor = figures["floor_p95"]
    rows = []
    for name, page in figures["pages"].items():
        rows.append(
            (
                f"Dashboard, {name}: p95 server time",
                f"{page['p95']:.0f} ms (median {page['p50']:.0f})",
                f"{floor:.1f} ms (`/healthz`)",
                f"{page['p95'] / floor:.0f}x",
                "< 150 ms",
                "met" if page["p95"] < 150 else "NOT met",
            )
        )
        rows.append(
            (
                f"Dashboard, {name}: SQL queries",
                str(page["queries"]),
                "-",
                "-",
                "≤ 10",
                "met" if page["queries"] <= 10 else "NOT met",
            )
        )
    rows.append(
        (
            "Dashboard, programme: first request after a change (counts from the measures)",
            f"{figures['cold_programme_ms']:.0f} ms (median of 5)",
            f"{floor:.1f} ms",
            "-",
            "-",
            "-",
        )
    )
    megabytes = figures["script_bytes"] / 1_000_000
    rows.append(("JavaScript a dashboard page loads", f"{megabytes:.2f} MB", "-", "-", "< 1.5 MB",
                 "met" if megabytes < 1.5 else "NOT met"))  # fmt: skip
    write_table_section(
        Path(args.output),
        "## Dashboards",
        data=(
            f"Data: {count:,} measures; the park shown is the largest ({figures['park_measures']:,} measures). "
            f"{REQUESTS} sequential requests per page through Django's test client in one process (server time, no "
            "network), logged in as programme staff, after one warm-up request."
        ),
        rows=rows,
        floor=(
            "Floor: `/healthz` (one `SELECT 1`) through the same client and middleware. JavaScript: ECharts "
            "(minified), htmx, `dashboard.js` and `app.js`, uncompressed."
        ),
    )
    print(f"written to {args.output}")


def import_section(args, count: int) -> None:
    """The spreadsheet import, in a fresh process (bench/imports.py) so that its peak memory is its own."""
    import json

    print(f"import of {args.import_rows:,} rows ...", flush=True)
    runs = []
    for _ in range(max(1, min(args.runs, 3))):
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "bench.imports", "--rows", str(args.import_rows)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    median = {key: statistics.median(r[key] for r in runs) for key in ("floor", "check", "commit", "peak_mb")}
    both = median["check"] + median["commit"]
    print(f"import {median}", flush=True)
    rows = [
        ("Check (the preview: every row read and checked, nothing written)", f"{median['check']:.1f} s", "-", "-",
         "-", "-"),
        ("Import (every row checked again, then written in one transaction)", f"{median['commit']:.1f} s",
         f"{median['floor']:.1f} s (read + bulk insert, no checks)", f"{median['commit'] / median['floor']:.1f}x",
         "< 20 s", "met" if median["commit"] < 20 else "NOT met"),
        ("Check and import, as a user does both", f"{both:.1f} s", "-", "-", "< 20 s",
         "met" if both < 20 else "NOT met"),
        ("Peak RSS of the process", f"{median['peak_mb']:.0f} MB", "-", "-", "< 500 MB",
         "met" if median["peak_mb"] < 500 else "NOT met"),
    ]  # fmt: skip
    write_table_section(
        Path(args.output),
        "## Spreadsheet import",
        data=(
            f"Data: an XLSX file of {args.import_rows:,} RECP measures with 2 savings rows each "
            f"(`bench/imports.py`), imported by a programme officer into the register of {count:,} measures. Median "
            f"of {len(runs)} runs, each in a fresh process."
        ),
        rows=rows,
        floor=(
            "Floor: read the same file and `bulk_create` its measures and savings as they are (no checks, no "
            "figures, no audit trail), in the same process. The import also writes the CO2e trail, the first status, "
            "one audit entry per row and the roll-up's pending rows."
        ),
    )
    print(f"written to {args.output}")


def api_section(args, count: int) -> None:
    from bench.api import CLIENTS, PAGES, measure_api

    print("API: gunicorn + wrk ...", flush=True)
    figures = measure_api(seconds=args.api_seconds)
    api, uncached, floor = figures["api"], figures["uncached"], figures["floor"]
    share, share_uncached = api["rps"] / floor["rps"], uncached["rps"] / floor["rps"]
    paged, floor_paged = figures["paged"], figures["floor_paged"]
    share_paged = paged["rps"] / floor_paged["rps"]
    print(f"API {api}, without the list cache {uncached}, floor {floor}, share {share:.0%}; paging {paged}, "
          f"floor {floor_paged}", flush=True)  # fmt: skip
    rows = [
        ("Throughput of `/api/v1/measures/?page_size=50` (partner key)", f"{api['rps']:.0f} req/s",
         f"{floor['rps']:.0f} req/s", f"{share:.0%}", "≥ 60% of floor", "met" if share >= 0.6 else "NOT met"),
        (f"p95 latency at {CLIENTS} concurrent clients", f"{api['p95_ms']:.0f} ms", f"{floor['p95_ms']:.0f} ms",
         f"{api['p95_ms'] / floor['p95_ms']:.2f}x", "< 150 ms", "met" if api["p95_ms"] < 150 else "NOT met"),
        ("Median latency", f"{api['p50_ms']:.0f} ms", f"{floor['p50_ms']:.0f} ms", "-", "-", "-"),
        ("Throughput with the list cache off (`API_LIST_CACHE_SECONDS=0`)", f"{uncached['rps']:.0f} req/s",
         f"{floor['rps']:.0f} req/s", f"{share_uncached:.0%}", "-", "-"),
        ("p95 latency with the list cache off", f"{uncached['p95_ms']:.0f} ms", f"{floor['p95_ms']:.0f} ms",
         f"{uncached['p95_ms'] / floor['p95_ms']:.2f}x", "-", "-"),
        (f"Throughput paging at random through pages 1-{PAGES}, list cache off", f"{paged['rps']:.0f} req/s",
         f"{floor_paged['rps']:.0f} req/s", f"{share_paged:.0%}", "-", "-"),
        (f"p95 latency paging at random through pages 1-{PAGES}, list cache off", f"{paged['p95_ms']:.0f} ms",
         f"{floor_paged['p95_ms']:.0f} ms", f"{paged['p95_ms'] / floor_paged['p95_ms']:.2f}x", "-", "-"),
    ]  # fmt: skip
    write_table_section(
        Path(args.output),
        "## REST API (measures list)",
        data=(
            f"Data: {count:,} measures. gunicorn with production settings ({figures['workers']} sync workers), Redis "
            f"cache, wrk on loopback with {CLIENTS} connections for {figures['seconds']} s per endpoint (the floor "
            "before and after the API, averaged)."
        ),
        rows=rows,
        floor=(
            "Floor: `bench/urls.py` returns the same 50 rows and columns with `.values()` and `JsonResponse`, no "
            "authentication, no count. The API also authenticates the key, checks the role and the throttle on every "
            "request. As configured, a list page is kept in the cache until the register changes (any write changes "
            "its key; `tests/api/test_list_cache.py`), so a script polling one page mostly reads the cache; with the "
            "cache off, every request reads its rows and withholds what the partner may not see, while the count and "
            "the parks and enterprises already read are kept in the process under the versions of the measures and "
            "of the register (one call to the cache reads both). The paging rows ask for a random page of the first "
            f"{PAGES} each time, against a floor that reads the same page (`?page=`), on the server with the list "
            "cache off. The query count of the list does not grow with the page size (`tests/api/test_measures.py`). "
            "With 20 clients on 2 cores every request queues behind others, so a p95 follows throughput: read it "
            "against the floor's own p95 in the same run."
        ),
    )
    print(f"written to {args.output}")


def rollup_section(args, count: int) -> None:
    from reports.services import rollup_rebuild

    floor = median_seconds(floor_group_by, args.runs)
    rebuild = median_seconds(lambda: rollup_rebuild(reason="bench"), args.runs)
    print(f"floor {floor:.2f} s, rebuild {rebuild:.2f} s", flush=True)
    edit_ms, step_ms = incremental_ms(max(args.runs * 4, 20))  # each kind of change that many times
    print(f"incremental: edit {edit_ms:.1f} ms, status change {step_ms:.1f} ms", flush=True)
    base_mb, rss_mb = baseline_rss_mb(), rebuild_rss_mb()
    print(f"rebuild RSS {rss_mb:.0f} MB (Django alone {base_mb:.0f} MB)", flush=True)

    ratio = rebuild / floor
    rows = [
        ("Full rebuild of the roll-up table", f"{rebuild:.2f} s", f"{floor:.2f} s (one SQL GROUP BY)",
         f"{ratio:.2f}x", "≤ 1.5x floor and < 10 s", "met" if ratio <= 1.5 and rebuild < 10 else "NOT met"),
        ("Incremental update after one measure edit (task time)", f"{edit_ms:.1f} ms", "-", "-", "< 50 ms",
         "met" if edit_ms < 50 else "NOT met"),
        ("Incremental update after one status change (task time)", f"{step_ms:.1f} ms", "-", "-", "< 50 ms",
         "met" if step_ms < 50 else "NOT met"),
        ("Peak RSS of the rebuild process", f"{rss_mb:.0f} MB", f"{base_mb:.0f} MB (Django loaded, idle)", "-",
         "< 300 MB", "met" if rss_mb < 300 else "NOT met"),
    ]  # fmt: skip
    write_table_section(
        Path(args.output),
        "## Roll-up (savings engine)",
        data=(
            f"Data: {count:,} measures in {args.parks} parks and {args.enterprises:,} enterprises (generated by "
            f"`bench/generate.py`: 10% symbiosis exchanges, every stage; status, technique and year vary within each "
            f"enterprise). Median of {args.runs} runs; incremental: median of {max(args.runs * 4, 20)} each."
        ),
        rows=rows,
        floor=(f"Floor: `{' '.join(FLOOR_SQL.split())}`"),
    )
    print(f"written to {args.output}")


def write_table_section(path: Path, heading: str, *, data: str, rows: list[tuple], floor: str) -> None:
    """A benchmark's section of BENCHMARKS.md: when and where it ran, on what data, its table, and its floor."""
    section = [
        heading,
        "",
        f"Run {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {machine()}.",
        data,
        "",
        "| benchmark | measured | floor (same run) | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in rows],
        "",
        floor,
        "",
    ]
    write_section(path, heading, "\n".join(section))


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace this benchmark's section of BENCHMARKS.md, keeping the other benchmarks' sections."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nWritten by `make bench`; see README.\n\n"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + ("" if end == -1 else text[end:])
    path.write_text(text.rstrip() + "\n")


if __name__ == "__main__":
    main()
