"""An import checked and written by tasks, with the task queue (Redis) down: the upload and the confirmation answer at
once (no 500, no twenty-second wait), the job page says it waits for the queue, and once Redis is back the periodic
sweep sends it and a real worker checks and writes it. Nothing is lost and nothing runs twice."""

import datetime
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ecopark.celery import app
from ecopark.roles import Role
from measures.models import ImportJob, Measure
from measures.tasks import import_fail_abandoned_task
from tests.ecopark.test_degrade import needs_redis_server, own_redis  # noqa: F401 (the fixture)
from tests.factories import EnterpriseFactory
from tests.measures.import_files import filled_template, recp_row, upload
from tests.measures.test_import import IMPORT, job_of
from tests.test_concurrency_creates import at_once

WAITING_TO_CHECK = {
    "vi": "Hiện không kết nối được hàng đợi tác vụ nền nên việc kiểm tra chưa bắt đầu.",
    "en": "The queue of background tasks cannot be reached just now, so the check has not started.",
}
WAITING_TO_IMPORT = {
    "vi": "Hiện không kết nối được hàng đợi tác vụ nền nên việc nhập chưa bắt đầu; chưa có gì được ghi.",
    "en": "The queue of background tasks cannot be reached just now, so the import has not started;",
}


def _staff_client(language: str) -> tuple[Client, object]:
    user = get_user_model().objects.create_user("queue.staff", password="not-used-here-1")
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client, user


def _a_minute_later(job: ImportJob) -> None:
    """As if the sweep came round a while after the first attempt (it leaves a job alone for a minute before)."""
    ImportJob.objects.filter(pk=job.pk).update(
        uploaded_at=F("uploaded_at") - datetime.timedelta(minutes=2),
        committed_at=F("committed_at") - datetime.timedelta(minutes=2),
    )


def _wait_for(job: ImportJob, state: str, timeout: float = 60) -> ImportJob:
    deadline = time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if job.state == state:
            return job
        assert time.monotonic() < deadline, f"the job is still {job.state}"
        time.sleep(0.2)


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@needs_redis_server
@pytest.mark.django_db(transaction=True)  # the worker reads and writes through its own connection
@pytest.mark.parametrize("language", ["vi", "en"])
def test_with_the_queue_down_an_import_waits_and_the_sweep_sends_it_once_redis_is_back(
    reference_data,
    own_redis,  # noqa: F811
    settings,
    language,
):
    settings.IMPORT_SYNC_MAX_ROWS = 2
    client, user = _staff_client(language)
    enterprise = EnterpriseFactory()
    content = filled_template(user, measures=[recp_row(f"queue-{i}", enterprise.code) for i in range(3)])

    own_redis.stop()
    response, seconds = _timed(lambda: client.post(IMPORT, {"file": upload(content)}))
    job = job_of(response)  # taken to the job, not shown a 500
    assert seconds < 5  # before: some twenty seconds, then a server error
    assert job.state == ImportJob.State.VALIDATING and job.waiting_for_queue
    page = client.get(reverse("measures:import_job", args=[job.pk]))
    assert page.status_code == 200 and WAITING_TO_CHECK[language] in page.content.decode()
    assert import_fail_abandoned_task() == 0  # the sweep with the queue still down: the job waits, not failed
    job.refresh_from_db()
    assert job.waiting_for_queue and job.state == ImportJob.State.VALIDATING

    own_redis.start()
    _a_minute_later(job)
    import_fail_abandoned_task()  # what celery beat runs (imports-abandoned-sweep)
    job.refresh_from_db()
    assert not job.waiting_for_queue and job.queued_at is not None
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        job = _wait_for(job, ImportJob.State.READY)
    assert job.counts["measures"]["create"] == 3

    own_redis.stop()
    response, seconds = _timed(lambda: client.post(reverse("measures:import_confirm", args=[job.pk])))
    assert response.status_code == 302 and seconds < 5
    job.refresh_from_db()
    assert job.state == ImportJob.State.COMMITTING and job.waiting_for_queue
    page = client.get(reverse("measures:import_job", args=[job.pk])).content.decode()
    assert WAITING_TO_IMPORT[language] in page
    assert not Measure.objects.filter(reference__startswith="queue-").exists()

    own_redis.start()
    _a_minute_later(job)
    import_fail_abandoned_task()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        job = _wait_for(job, ImportJob.State.DONE)
    assert Measure.objects.filter(reference__startswith="queue-").count() == 3
    assert job.counts["measures"] == {"create": 3, "update": 0, "unchanged": 0}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two runs at once need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_an_import_task_at_once_write_once_and_keep_the_first_runs_log(reference_data):
    """A job's task may be delivered twice at once (the sweep sends a job whose first send looked lost, or the broker
    hands back the task of a worker it thought dead): one writes the rows, the other finds them written and leaves
    the log alone. Before, the second run's "unchanged" counts replaced what the import did."""
    from measures.import_jobs import import_commit

    client, user = _staff_client("en")
    enterprise = EnterpriseFactory()
    rows = [recp_row(f"twice-{i}", enterprise.code) for i in range(2)]
    job = job_of(client.post(IMPORT, {"file": upload(filled_template(user, measures=rows))}))
    assert job.state == ImportJob.State.READY
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.COMMITTING, committed_at=timezone.now())
    results = at_once(2, lambda _index: import_commit(job.pk).state)
    assert results == [ImportJob.State.DONE, ImportJob.State.DONE]
    job.refresh_from_db()
    assert job.counts["measures"] == {"create": 2, "update": 0, "unchanged": 0}
    assert Measure.objects.filter(reference__startswith="twice-").count() == 2
