"""Scale-out check: two web processes (gunicorn with production settings, two ports) and two Celery workers on one
machine, sharing PostgreSQL, Redis and the file store: first a shared folder, then an S3-compatible bucket (moto's
server on loopback, each process given a local MEDIA_ROOT of its own that must stay empty).

In each round an officer logs in through one web process and goes on through the other (sessions live in the
database): verifies a measure with an evidence file and downloads it from the other process; uploads an import
through one process and confirms it through the other, the check done by one worker and the write by the other
(the workers are told which one consumes, so that each direction is shown); then the roll-up kept by the workers
after the imports, and a rebuild run on each worker in turn, must equal the figures counted from scratch over the
measures table (tests/reports/scratch.py).

Run with the production environment (DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, STATIC_ROOT with the
static files collected); REDIS_URL should name a Redis database that no other worker consumes from.
"""

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import django
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecopark.settings.production")
BIN = Path(sys.executable).parent
ROWS = 8  # rows per import: above IMPORT_SYNC_MAX_ROWS below, so the check and the write are Celery tasks
PROCESS_ENV = {"IMPORT_SYNC_MAX_ROWS": "5", "ROLLUP_DEBOUNCE_SECONDS": "1", "WEB_CONCURRENCY": "2", "WEB_THREADS": "2"}
os.environ.update(PROCESS_ENV)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402

from ecopark.celery import app  # noqa: E402
from ecopark.roles import Role  # noqa: E402
from measures.models import Evidence, ImportJob, Measure  # noqa: E402
from reports.models import RollupPending, RollupRow  # noqa: E402
from reports.tasks import SCHEDULED_KEY, rollup_rebuild_all  # noqa: E402
from tests.forms_helper import form_fields  # noqa: E402
from tests.measures.import_files import filled_template, recp_row  # noqa: E402
from tests.reports.scratch import differences, from_scratch, table_now  # noqa: E402
from tests.s3_server import client as s3_client  # noqa: E402
from tests.s3_server import environment, keys_in, s3_server  # noqa: E402

QUEUE = app.conf.task_default_queue
CHECK, COMMIT, REBUILD = (
    "measures.tasks.import_check_task",
    "measures.tasks.import_commit_task",
    "reports.tasks.rollup_rebuild_all",
)
EVIDENCE = b"%PDF-1.4\n% meter readings after the change, signed by the enterprise\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, test, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not (result := test()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return result


class Processes:
    """The web and worker processes of a round, their logs in `folder`; all stopped on leaving."""

    def __init__(self, folder: Path):
        self.folder, self.running, self.logs = folder, [], []

    def start(self, name: str, command: list[str], env: dict) -> None:
        log = (self.folder / f"{name}.log").open("w")
        self.logs.append(log)
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        self.running.append((name, process))

    def __enter__(self):
        return self

    def __exit__(self, *failure):
        for _name, process in self.running:
            process.send_signal(signal.SIGTERM)
        for _name, process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()
        if failure[0] is not None:
            for name, _process in self.running:
                print(f"--- last lines of {name}.log", file=sys.stderr)
                print("\n".join((self.folder / f"{name}.log").read_text().splitlines()[-40:]), file=sys.stderr)


class Browser:
    """One officer's browser, going through any web process: its cookies (the session lives in the database), in
    English, behind the TLS proxy that production has in front (X-Forwarded-Proto)."""

    def __init__(self):
        self.cookies = {"django_language": "en"}

    def send(self, method: str, url: str, **kwargs) -> requests.Response:
        parts = urlsplit(url)
        headers = {
            "X-Forwarded-Proto": "https",
            "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
        }
        if method == "POST":  # as a browser sends it; Django checks it against the host on HTTPS
            headers["Origin"] = f"https://{parts.netloc}"
        response = requests.request(method, url, headers=headers, allow_redirects=False, timeout=60, **kwargs)
        self.cookies.update(response.cookies.get_dict())  # Secure cookies: kept although the hop is plain HTTP
        return response

    def get(self, url: str) -> requests.Response:
        response = self.send("GET", url)
        assert response.status_code == 200, (url, response.status_code, response.text[:2000])
        return response

    def post_form(self, url: str, html: str, action=None, changes=None, files=None) -> requests.Response:
        """Post the page's form whose action is `action` (the page itself when None) as filled in, plus `changes`."""
        for index in range(10):
            found, fields = form_fields(html, index=index)
            if (found or None) == action:
                break
        else:
            raise AssertionError(f"no form posting to {action or url} on the page")
        fields.update({name: [value] for name, value in (changes or {}).items()})
        response = self.send("POST", urljoin(url, action or url), data=fields, files=files)
        assert response.status_code == 302, (url, response.status_code, response.text[:3000])
        return response


def nodes_ready(names: list[str]) -> list[str]:
    replies = app.control.ping(timeout=1)
    found = sorted(node for reply in replies for node in reply if node.split("@")[0] in names)
    return found if len(found) == len(names) else []


def consume_only(node: str, workers: list[str]) -> None:
    """Only `node` takes tasks from the queue from now on (the other worker stays up, idle)."""
    for other in workers:
        if other != node:
            app.control.cancel_consumer(QUEUE, destination=[other], reply=True, timeout=5)
    app.control.add_consumer(QUEUE, destination=[node], reply=True, timeout=5)
    queues = app.control.inspect(destination=workers, timeout=5).active_queues()
    consuming = sorted(n for n, listed in queues.items() if any(q["name"] == QUEUE for q in listed))
    assert consuming == [node], consuming


def consume_all(workers: list[str]) -> None:
    for node in workers:
        app.control.add_consumer(QUEUE, destination=[node], reply=True, timeout=5)


def tasks_done(workers: list[str]) -> dict[str, dict[str, int]]:
    """How many tasks of each name each worker has run (Celery's own counters)."""
    stats = app.control.inspect(destination=workers, timeout=5).stats() or {}
    return {node: dict(stats.get(node, {}).get("total", {})) for node in workers}


def ran_on(workers: list[str], before: dict, task: str) -> list[str]:
    after = tasks_done(workers)
    return [node for node in workers for _ in range(after[node].get(task, 0) - before[node].get(task, 0))]


def officer(password: str):
    user, _created = get_user_model().objects.get_or_create(username="scaleout.officer")
    user.set_password(password)
    user.is_active = True
    user.save()
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    return user


def log_in(browser: Browser, web: str, password: str) -> None:
    page = browser.get(f"{web}/accounts/login/")
    browser.post_form(
        f"{web}/accounts/login/",
        page.text,
        action="/accounts/login/",
        changes={"username": "scaleout.officer", "password": password},
    )
    assert "sessionid" in browser.cookies, "no session after logging in"


def verify_with_evidence(browser: Browser, webs: list[str], measure: Measure) -> Evidence:
    """Verify `measure` through the first web process with an evidence file; download it through the second."""
    url = f"{webs[0]}/measures/{measure.pk}/status/?to=verified"
    page = browser.get(url)
    measured = {f"verified_{saving.pk}": "1000" for saving in measure.savings.all()}
    files = {"evidence": ("meter-readings.pdf", EVIDENCE, "application/pdf")}
    browser.post_form(url, page.text, changes=measured, files=files)
    evidence = Evidence.objects.filter(measure=measure).latest("pk")
    detail = browser.get(f"{webs[1]}/measures/{measure.pk}/").text
    link = f"/measures/evidence/{evidence.pk}/"
    assert f'href="{link}">meter-readings.pdf</a>' in detail, "the measure page does not list the evidence"
    assert browser.get(webs[1] + link).content == EVIDENCE, "the evidence downloaded differs from the upload"
    return evidence


def import_across(browser: Browser, user, webs: list[str], workers: list[str], tag: str) -> ImportJob:
    """Upload through webs[0] (checked by workers[0]), confirm through webs[1] (written by workers[1])."""
    references = [f"scaleout-{tag}-{n}" for n in range(ROWS)]
    content = filled_template(user, measures=[recp_row(ref, "demo-01") for ref in references], language="en")
    consume_only(workers[0], workers)
    before = tasks_done(workers)
    page = browser.get(f"{webs[0]}/measures/import/")
    upload = {"file": (f"assessment-{tag}.xlsx", content, "application/octet-stream")}
    response = browser.post_form(f"{webs[0]}/measures/import/", page.text, files=upload)
    job_url = urljoin(webs[1], response.headers["Location"])
    job = ImportJob.objects.get(pk=int(job_url.rstrip("/").split("/")[-1]))
    # The page polls its progress bar until the check has ended (HX-Refresh), here through the other process.
    wait_for("the check", lambda: browser.get(job_url + "progress/").headers.get("HX-Refresh"))
    page = browser.get(job_url)
    assert "Ready to import" in page.text, page.text[:3000]
    assert ran_on(workers, before, CHECK) == [workers[0]], (tag, before, tasks_done(workers))

    consume_only(workers[1], workers)
    before = tasks_done(workers)
    confirm = re.search(r'action="(/measures/import/\d+/confirm/)"', page.text).group(1)
    browser.post_form(job_url, page.text, action=confirm)
    wait_for("the import", lambda: browser.get(job_url + "progress/").headers.get("HX-Refresh"))
    page = browser.get(job_url)
    assert "every row was written" in page.text, page.text[:3000]
    assert ran_on(workers, before, COMMIT) == [workers[1]], (tag, before, tasks_done(workers))
    written = set(Measure.objects.filter(reference__in=references).values_list("reference", flat=True))
    assert written == set(references), sorted(set(references) - written)
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE, job.errors
    return job


def roll_up_checks(workers: list[str]) -> None:
    """The roll-up the workers kept after the writes, then a rebuild on each worker: the figures from scratch."""
    consume_all(workers)
    wait_for(
        "the pending roll-up",
        lambda: not RollupPending.objects.exists() and cache.get(SCHEDULED_KEY) is None,
        seconds=90,
    )
    expected = from_scratch()
    assert table_now() == expected, differences(expected, table_now())
    print(f"  roll-up kept by the workers after the writes: {len(expected)} rows, equal to the figures from scratch")
    for node in workers:
        consume_only(node, workers)
        # Figures gone stale and rows gone missing, which the rebuild must put right.
        RollupRow.objects.update(electricity_kwh=0, co2e_t=0)
        RollupRow.objects.filter(level="programme").delete()
        before = tasks_done(workers)
        rows = rollup_rebuild_all.apply_async(kwargs={"reason": f"scale-out check on {node}"}).get(timeout=120)
        assert ran_on(workers, before, REBUILD) == [node], (node, before, tasks_done(workers))
        expected = from_scratch()
        assert rows == len(expected) and table_now() == expected, differences(expected, table_now())
        print(f"  rebuild on {node}: {rows} rows, equal to the figures from scratch")
    consume_all(workers)


def files_left_in(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def start_round(processes: Processes, kind: str, env: dict, local: dict[str, Path]) -> tuple[list[str], list[str]]:
    """Two gunicorn and two Celery worker processes; with a bucket, each is given a MEDIA_ROOT of its own (in `local`)
    so that a file written there instead of the bucket would be missed by the others, and found by the check."""
    tag = secrets.token_hex(3)
    ports = [free_port(), free_port()]
    names = [f"scaleout-{tag}-w1", f"scaleout-{tag}-w2"]

    def env_of(process: str) -> dict:
        if kind != "s3":
            return env
        return {**env, "MEDIA_ROOT": str(local.setdefault(process, processes.folder / f"s3-local-{process}"))}

    for n, port in enumerate(ports, 1):
        command = [str(BIN / "gunicorn"), "ecopark.wsgi", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
        processes.start(f"{kind}-web{n}", command, env_of(f"web{n}"))
    for n, name in enumerate(names, 1):
        command = [str(BIN / "celery"), "-A", "ecopark", "worker", "-n", f"{name}@%h", "--concurrency", "1"]
        command += ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        processes.start(f"{kind}-worker{n}", command, env_of(f"worker{n}"))
    webs = [f"http://127.0.0.1:{port}" for port in ports]
    for web in webs:
        wait_for(f"{web}/healthz", lambda web=web: _healthy(web))
    return webs, wait_for("both workers", lambda: nodes_ready(names))


def run_round(kind: str, work: Path, user, password: str, measure: Measure) -> None:
    """One round of the check with the file store `kind`: a folder all processes share, or a bucket."""
    started = time.monotonic()
    print(f"== scale-out round: file store = {kind}")
    shared = work / f"{kind}-shared-media"
    env = {**os.environ, **PROCESS_ENV, "MEDIA_ROOT": str(shared)}
    with s3_server(log=(work / "moto.log").open("w")) if kind == "s3" else contextlib.nullcontext() as endpoint:
        bucket = None
        if endpoint:
            bucket = f"ecopark-scaleout-{secrets.token_hex(4)}"
            s3_client(endpoint).create_bucket(Bucket=bucket)
            env.update(environment(endpoint, bucket))
        local: dict[str, Path] = {}
        with Processes(work) as processes:
            webs, workers = start_round(processes, kind, env, local)
            print(f"  up: web {', '.join(webs)}; workers {', '.join(workers)} ({time.monotonic() - started:.1f} s)")
            browser = Browser()
            log_in(browser, webs[0], password)
            evidence = verify_with_evidence(browser, webs, measure)
            print(f"  evidence of {measure.reference} uploaded through web 1, downloaded intact through web 2")
            tag = f"{kind}-{secrets.token_hex(3)}"
            jobs = [
                import_across(browser, user, webs, workers, f"{tag}-a"),
                import_across(browser, user, webs[::-1], workers[::-1], f"{tag}-b"),
            ]
            print(
                f"  import uploaded through web 1, checked by {workers[0]}, confirmed through web 2, written by "
                f"{workers[1]}; and the other way round ({ROWS} rows each)"
            )
            roll_up_checks(workers)

        stored = {evidence.file.name, *(job.file.name for job in jobs)}
        if endpoint:
            assert stored <= keys_in(endpoint, bucket), (stored, keys_in(endpoint, bucket))
            for process, folder in local.items():
                assert not files_left_in(folder), (process, files_left_in(folder))
            print(f"  {len(keys_in(endpoint, bucket))} files in the bucket {bucket}, none in the processes' folders")
        else:
            assert all((shared / name).is_file() for name in stored), stored
            print(f"  {len(files_left_in(shared))} files in the shared folder")
    print(f"  round passed in {time.monotonic() - started:.1f} s")


def _healthy(web: str) -> bool:
    try:
        response = requests.get(f"{web}/healthz", timeout=10)
    except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still loading the app
        return False
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}, response.text
    return True


def main() -> None:
    started = time.monotonic()
    call_command("migrate", "--no-input", verbosity=0)
    call_command("load_demo", "--if-empty", verbosity=0)
    app.control.purge()  # tasks left from an earlier run would come first
    password = secrets.token_urlsafe(16)
    user = officer(password)
    # Implemented measures to verify, one per round: their figures change, and the roll-up must follow.
    measures = list(Measure.objects.filter(status=Measure.Status.IMPLEMENTED, savings__isnull=False).distinct()[:2])
    assert len(measures) == 2, "the demo register has too few implemented measures"
    with tempfile.TemporaryDirectory(prefix="ecopark-scaleout-") as work:
        for kind, measure in zip(("folder", "s3"), measures, strict=True):
            run_round(kind, Path(work), user, password, measure)
    print(f"scale-out check passed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
