"""Every page a person opens and every list endpoint of the API, at scale: the server time of each (Django's test
client in this process, no network) with its SQL queries, as it is opened again and as it is first opened after a
write, beside a floor timed in the same run; then 20 clients on gunicorn (production settings) opening a mix of
pages and API reads, beside a bare endpoint under the same load."""

import http.client
import statistics
import subprocess
import sys
from dataclasses import dataclass, field

from bench.run import ROOT
from bench.timing import counted, p95, timed

REQUESTS = 20  # per page, each after a warm-up request
BUDGET_S = 20.0  # ... unless that takes longer: then as many as fit, and at least MIN_REQUESTS
MIN_REQUESTS = 5
COLD_RUNS = 5  # first views after a write, per page
TARGET_MS = 300
LOAD_SECONDS = 30
FIRST_ROW, WHOLE = "first row", "whole file"  # how much of a streamed export is read


@dataclass
class Target:
    """A page or endpoint to time: who opens it, and settings it is timed under (e.g. the API list cache off)."""

    name: str
    url: str
    who: str = "staff"
    api: bool = False
    settings: dict = field(default_factory=dict)
    in_load: bool = True  # part of the 20-client mix
    read: str = ""  # an export: FIRST_ROW (a streamed CSV, read to its first row) or WHOLE; "": a page
    cold: bool = True  # also timed on the first view after a write (exports keep nothing between writes)


@dataclass
class Scene:
    """The rows the pages are opened on: the largest park, an enterprise of it, a measure of each kind in it."""

    park: object
    province_id: int
    enterprise: object
    recp_id: int
    is_id: int
    last_page: int
    enterprises_last_page: int
    import_job_id: int | None
    clients: dict
    headers: dict
    key: str


def scene() -> Scene:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models import Count
    from django.test import Client

    from ecopark.roles import Role, ensure_role_groups
    from ecopark.services import partner_create
    from enterprises.models import Enterprise
    from measures.models import ImportJob, Measure
    from parks.models import Park, ParkMembership

    ensure_role_groups()
    users = get_user_model().objects
    staff, _ = users.get_or_create(username="bench-pages-staff")
    staff.groups.add(Group.objects.get(name=Role.STAFF.value))
    manager, _ = users.get_or_create(username="bench-pages-manager")
    manager.groups.add(Group.objects.get(name=Role.PARK_MANAGER.value))
    admin, _ = users.get_or_create(username="bench-pages-admin", defaults={"is_staff": True, "is_superuser": True})
    admin.groups.add(Group.objects.get(name=Role.ADMINISTRATOR.value))
    by_park = Measure.objects.order_by().values("park_id").annotate(n=Count("*")).order_by("-n", "park_id")
    park = Park.objects.select_related("province").get(pk=by_park[0]["park_id"])
    ParkMembership.objects.get_or_create(user=manager, park=park)
    # The enterprise of that park with the most RECP measures: the park manager opens it too.
    enterprise = (
        Enterprise.objects.filter(park=park)
        .annotate(n=Count("measures"))  # an RECP measure's enterprise (an exchange's parties are others)
        .order_by("-n", "pk")
        .first()
    )
    api_key, key = partner_create(name="bench pages partner", days=1)
    api_key.requests_per_minute = 10_000_000  # the benchmark measures the endpoints, not the throttle
    api_key.save()
    clients = {"partner": Client(), "anonymous": Client()}
    for who, user in (("staff", staff), ("manager", manager), ("admin", admin)):
        clients[who] = Client()
        clients[who].force_login(user)
    accepted = Measure.objects.filter(status="accepted", park=park).order_by("pk").values_list("pk", flat=True)
    job = ImportJob.objects.order_by("-pk").values_list("pk", flat=True).first()
    return Scene(
        park=park,
        province_id=park.province_id,
        enterprise=enterprise,
        recp_id=accepted.filter(kind="recp")[0],
        is_id=accepted.filter(kind="is")[0],
        last_page=-(-Measure.objects.count() // 25),
        enterprises_last_page=-(-Enterprise.objects.count() // 25),
        import_job_id=job,
        clients=clients,
        headers={"partner": {"HTTP_AUTHORIZATION": f"Bearer {key}"}},
        key=key,
    )


# The measures page's sortable columns (measures/views.py), by the name a row of the table gives them.
MEASURE_SORTS = {"reference, descending": "-reference", "title": "title", "kind": "kind", "park": "park",
                 "status": "status", "year": "-year", "kWh": "-electricity_kwh", "m³": "-water_m3",
                 "USD": "-cost_usd", "tCO2e": "-co2e_t"}  # fmt: skip


def targets(s: Scene) -> list[Target]:
    park, firm = s.park, s.enterprise
    word = "4151"  # a word of a few enterprises' names and a few dozen measures' references
    no_cache = {"API_LIST_CACHE_SECONDS": 0}
    filtered = f"park={park.code}&status=implemented&year=2022"
    job = [Target("Import: a job's page", f"/measures/import/{s.import_job_id}/", in_load=False)]
    return [
        Target("Log-in page", "/accounts/login/", who="anonymous", in_load=False),
        Target("Home (programme overview)", "/"),
        Target("Home, park manager", "/", who="manager"),
        Target("Dashboard, programme", "/dashboards/"),
        Target("Dashboard, province", f"/dashboards/province/{s.province_id}/"),
        Target("Dashboard, park", f"/dashboards/park/{park.pk}/"),
        Target("Dashboard, park, park manager", f"/dashboards/park/{park.pk}/", who="manager"),
        Target("Dashboard, enterprise", f"/dashboards/enterprise/{firm.pk}/"),
        Target("Parks list", "/parks/"),
        Target("Parks list, sorted by RECP measures", "/parks/?sort=-recp_count"),
        Target("Parks list, park manager", "/parks/", who="manager"),
        Target("Enterprises list", "/enterprises/"),
        Target("Enterprises list, filtered by park", f"/enterprises/?park={park.code}"),
        Target("Enterprises list, search", f"/enterprises/?q={word}"),
        Target("Enterprises list, sorted by RECP measures", "/enterprises/?sort=-recp_count"),
        Target("Enterprises list, last page", f"/enterprises/?page={s.enterprises_last_page}"),
        Target("Enterprises list, park manager", "/enterprises/", who="manager"),
        Target("Enterprise page", f"/enterprises/{firm.pk}/"),
        Target("Enterprise page, park manager", f"/enterprises/{firm.pk}/", who="manager"),
        Target("Enterprise form (edit)", f"/enterprises/{firm.pk}/edit/", in_load=False),
        Target("Enterprise form (new)", "/enterprises/new/", in_load=False),
        Target("Measures list", "/measures/"),
        *(Target(f"Measures list, sorted by {name}", f"/measures/?sort={key}") for name, key in MEASURE_SORTS.items()),
        Target("Measures list, park + status + year", f"/measures/?{filtered}"),
        Target("Measures list, kind + status", "/measures/?kind=is&status=proposed"),
        Target("Measures list, province + technique", f"/measures/?province={park.province.code}"
               "&technique=process_control"),
        Target("Measures list, one enterprise", f"/measures/?enterprise={firm.code}"),
        Target("Measures list, search (a few dozen match)", f"/measures/?q={word}"),
        Target("Measures list, search (every measure matches)", "/measures/?q=bench+measure"),
        Target("Measures list, search + park, sorted by tCO2e", f"/measures/?q=thu&park={park.code}&sort=-co2e_t"),
        Target("Measures list, 100 rows a page", "/measures/?per_page=100"),
        Target("Measures list, last page", f"/measures/?page={s.last_page}"),
        Target("Measures list, middle page", f"/measures/?page={s.last_page // 2}"),
        Target("Measures list, last page sorted by tCO2e", f"/measures/?sort=-co2e_t&page={s.last_page}"),
        Target("Measures list, park manager", "/measures/", who="manager"),
        Target("Measures list, park manager, sorted by tCO2e", "/measures/?sort=-co2e_t", who="manager"),
        Target("Measure page (RECP), with its history", f"/measures/{s.recp_id}/"),
        Target("Measure page (exchange), with its history", f"/measures/{s.is_id}/"),
        Target("Measure page (RECP), park manager", f"/measures/{s.recp_id}/", who="manager"),
        Target("Measure form (edit RECP)", f"/measures/{s.recp_id}/edit/", in_load=False),
        Target("Measure form (edit exchange)", f"/measures/{s.is_id}/edit/", in_load=False),
        Target("Measure form (new RECP)", "/measures/new/recp/", in_load=False),
        Target("Measure form (new exchange)", "/measures/new/is/", in_load=False),
        Target("Status step (mark implemented)", f"/measures/{s.recp_id}/status/?to=implemented", in_load=False),
        Target("Import page", "/measures/import/"),
        *(job if s.import_job_id else []),
        Target("Export: measures CSV, whole register", "/measures/?export=csv", read=FIRST_ROW, in_load=False,
               cold=False),
        Target("Export: measures CSV, the park", f"/measures/?park={park.code}&export=csv", read=WHOLE,
               in_load=False, cold=False),
        Target("Export: measures XLSX, park + status + year", f"/measures/?{filtered}&export=xlsx", read=WHOLE,
               in_load=False, cold=False),
        Target("Export: measures XLSX, one enterprise", f"/measures/?enterprise={firm.code}&export=xlsx",
               read=WHOLE, in_load=False, cold=False),
        Target("Export: enterprises CSV, all", "/enterprises/?export=csv", read=WHOLE, in_load=False, cold=False),
        Target("Export: enterprises XLSX, the park", f"/enterprises/?park={park.code}&export=xlsx", read=WHOLE,
               in_load=False, cold=False),
        Target("Export: parks XLSX", "/parks/?export=xlsx", read=WHOLE, in_load=False, cold=False),
        Target("Export: dashboard CSV, programme", "/dashboards/?export=csv", read=WHOLE, in_load=False, cold=False),
        Target("Export: dashboard XLSX, park", f"/dashboards/park/{park.pk}/?export=xlsx", read=WHOLE,
               in_load=False, cold=False),
        Target("API documentation page", "/api/v1/docs/"),
        Target("API schema (loaded by the documentation page)", "/api/v1/schema/", in_load=False),
        Target("Admin: index", "/admin/", who="admin", in_load=False),
        Target("Admin: measures", "/admin/measures/measure/", who="admin", in_load=False),
        Target("Admin: audit trail", "/admin/ecopark/auditentry/", who="admin", in_load=False),
        Target("Admin: audit trail, one measure's", f"/admin/ecopark/auditentry/?q={s.recp_id}", who="admin",
               in_load=False),
        Target("Admin: status changes", "/admin/measures/statuschange/", who="admin", in_load=False),
        Target("API: provinces", "/api/v1/provinces/", who="partner", api=True),
        Target("API: parks", "/api/v1/parks/", who="partner", api=True),
        Target("API: enterprises", "/api/v1/enterprises/", who="partner", api=True),
        Target("API: enterprises, one park", f"/api/v1/enterprises/?park={park.code}", who="partner", api=True),
        Target("API: organisations", "/api/v1/organisations/", who="partner", api=True),
        Target("API: measures", "/api/v1/measures/?page_size=50", who="partner", api=True),
        Target("API: measures, filtered", "/api/v1/measures/?status=verified&year=2022", who="partner", api=True),
        Target("API: measures, one park", f"/api/v1/measures/?park={park.code}", who="partner", api=True),
        Target("API: measures, list cache off", "/api/v1/measures/?page_size=50", who="partner", api=True,
               settings=no_cache, in_load=False),
        Target("API: measures, page 200, list cache off", "/api/v1/measures/?page=200", who="partner", api=True,
               settings=no_cache, in_load=False),
        Target("API: measures, one park, list cache off", f"/api/v1/measures/?park={park.code}", who="partner",
               api=True, settings=no_cache, in_load=False),
        Target("API: resources", "/api/v1/resources/", who="partner", api=True),
        Target("API: emission factors", "/api/v1/emission-factors/", who="partner", api=True),
        Target("API: exchange rates", "/api/v1/exchange-rates/", who="partner", api=True),
        Target("API: targets", "/api/v1/targets/", who="partner", api=True),
        Target("API: roll-ups (programme)", "/api/v1/rollups/", who="partner", api=True),
        Target("API: roll-ups (parks)", "/api/v1/rollups/?level=park", who="partner", api=True),
        Target("API: roll-ups (one enterprise)", f"/api/v1/rollups/?level=enterprise&id={firm.pk}", who="partner",
               api=True),
        Target("API: dashboard data (programme)", "/api/v1/dashboard/", api=True),
        Target("API: dashboard data (park)", f"/api/v1/dashboard/?level=park&id={park.pk}", api=True),
    ]  # fmt: skip


def _open(s: Scene, target: Target) -> None:
    """One request, read as a browser reads it: a streamed export to its first row, or to its end."""
    response = s.clients[target.who].get(target.url, **s.headers.get(target.who, {}))
    assert response.status_code == 200, (target.url, response.status_code)
    if response.streaming:
        chunks = iter(response.streaming_content)
        if target.read == FIRST_ROW:
            for _ in range(3):  # the byte-order mark, the header line, the first row
                next(chunks)
        else:
            for _ in chunks:
                pass
    response.close()  # a streamed export left half-read closes its cursor


def _after_a_write() -> None:
    """What every write does to what pages keep (ecopark.counts): the register's and the measures' versions move."""
    from ecopark.counts import REGISTER, bump_count_version
    from measures.models import Measure

    bump_count_version(REGISTER)
    bump_count_version(Measure._meta.db_table)


def measure_pages(s: Scene) -> dict:
    from django.test.utils import override_settings

    results = {}
    with override_settings(ROOT_URLCONF="bench.urls"):  # the product's URLs and the floor endpoint
        healthz = Target("floor: /healthz", "/healthz")
        floor = Target("floor: bench/floor/", "/bench/floor/", who="partner", api=True)
        floors = {"page": [], "api": []}

        def floor_times() -> None:
            for kind, target in (("page", healthz), ("api", floor)):
                _open(s, target)
                floors[kind] += timed(lambda target=target: _open(s, target), requests=REQUESTS)

        floor_times()
        for target in targets(s):
            with override_settings(**target.settings):
                _open(s, target)  # warm: templates, translations, what is kept between writes
                queries, _ms = counted(lambda target=target: _open(s, target))
                times = timed(lambda target=target: _open(s, target), requests=REQUESTS, budget_s=BUDGET_S,
                              at_least=MIN_REQUESTS)  # fmt: skip
                cold, cold_queries = [], None
                for _ in range(COLD_RUNS if target.cold else 0):
                    _after_a_write()
                    n, ms = counted(lambda target=target: _open(s, target))
                    cold.append(ms)
                    cold_queries = n if cold_queries is None else max(cold_queries, n)
            row = results[target.name] = {
                "target": target, "p95": p95(times), "p50": statistics.median(times), "queries": queries,
                "cold": statistics.median(cold) if cold else None, "cold_queries": cold_queries, "n": len(times),
            }  # fmt: skip
            after = f"; after a write {row['cold']:.0f} ms, {cold_queries} queries" if cold else ""
            print(f"  {target.name}: p95 {row['p95']:.0f} ms, {queries} queries{after}", flush=True)
        floor_times()  # again at the end, so that drift shows
    return {"pages": results, "floor": {kind: p95(times) for kind, times in floors.items()}}


def verdict(row: dict) -> str:
    if row["p95"] >= TARGET_MS:
        return f"**NOT met** (p95 {row['p95']:.0f} ms)"
    if row["cold"] is not None and row["cold"] >= TARGET_MS:
        return f"p95 met; **NOT met** on the first view after a write ({row['cold']:.0f} ms)"
    return "met"


def page_table(figures: dict) -> list[str]:
    lines = [
        "| page or endpoint | URL | p95 | median | queries | first view after a write | floor p95 | p95 / floor "
        "| verdict (< 300 ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in figures["pages"].items():
        target = row["target"]
        floor = figures["floor"]["api" if target.api else "page"]
        url = target.url.replace("|", "%7C")
        who = {"staff": "", "manager": " (park manager)", "admin": " (administrator)", "partner": " (partner key)",
               "anonymous": " (not logged in)"}  # fmt: skip
        read = f", {target.read}" if target.read else ""
        cold = "-" if row["cold"] is None else f"{row['cold']:.0f} ms, {row['cold_queries']} queries"
        lines.append(
            f"| {name} | `{url}`{who[target.who]}{read} | {row['p95']:.0f} ms | {row['p50']:.0f} ms | "
            f"{row['queries']} | {cold} | {floor:.1f} ms | {row['p95'] / floor:.0f}x | {verdict(row)} |"
        )
    return lines


def _http_status(path: str, headers: dict, port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def session_cookie(env: dict, username: str) -> tuple[str, str]:
    """A session of `username` made under the servers' settings (their secret key signs it), as a cookie."""
    code = (
        "import django; django.setup(); from django.conf import settings; from django.test import Client; "
        "from django.contrib.auth import get_user_model; c = Client(); "
        f"c.force_login(get_user_model().objects.get(username={username!r})); "
        "print(settings.SESSION_COOKIE_NAME, c.cookies[settings.SESSION_COOKIE_NAME].value)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    name, value = out.stdout.strip().splitlines()[-1].split()
    return name, value


def measure_load(s: Scene, *, seconds: int = LOAD_SECONDS, workers: int = 4) -> dict:
    """20 clients opening the mix at random (each page and endpoint of the table that a person reads: not the forms,
    the schema or the admin), against the bare floor endpoint under the same load, before and after."""
    from bench.api import CLIENTS, PORT, Servers, wait_until_up, wrk

    with Servers(workers=workers) as servers:
        env = servers.env
        env["STATIC_ROOT"] = str(servers.work / "static")
        # Pages name their static files through the manifest that collectstatic writes, as in production.
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                       check=True, capture_output=True)  # fmt: skip
        servers.start()
        proto = {"X-Forwarded-Proto": "https"}
        cookie = "{}={}".format(*session_cookie(env, "bench-pages-staff"))
        manager = "{}={}".format(*session_cookie(env, "bench-pages-manager"))
        headers = {"staff": {**proto, "Cookie": cookie}, "manager": {**proto, "Cookie": manager},
                   "partner": {**proto, "Authorization": f"Bearer {s.key}"}}  # fmt: skip
        mix = [t for t in targets(s) if t.in_load]
        wait_until_up(f"http://127.0.0.1:{PORT}/healthz", proto)
        for target in mix:  # every line answers 200 (not a redirect to the log-in page), and is warm
            status = _http_status(target.url, headers[target.who], PORT)
            if status != 200:
                raise RuntimeError(f"{target.url} answered {status}:\n{servers.log_tail()}")
        mix_file = servers.work / "mix.tsv"
        mix_file.write_text(
            "".join("\t".join([t.url, *(f"{k}: {v}" for k, v in headers[t.who].items())]) + "\n" for t in mix)
        )
        floor_url = f"http://127.0.0.1:{PORT}/bench/floor/"
        base = f"http://127.0.0.1:{PORT}/"
        wrk(floor_url, proto, 3, warm_up=True)
        wrk(base, proto, 5, mix=str(mix_file), timeout_s=10)  # warm every worker
        floor_1 = wrk(floor_url, proto, 15)
        loaded = wrk(base, proto, seconds, mix=str(mix_file), timeout_s=10)
        floor_2 = wrk(floor_url, proto, 15)
    floor = {k: (floor_1[k] + floor_2[k]) / 2 for k in ("rps", "p95_ms", "p50_ms")}
    return {"load": loaded, "floor": floor, "workers": workers, "seconds": seconds, "clients": CLIENTS,
            "lines": len(mix), "pages": sum(not t.api for t in mix), "api": sum(t.api for t in mix)}  # fmt: skip
