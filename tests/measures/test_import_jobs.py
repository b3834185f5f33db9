"""Import jobs always end: an error of the server while a file is checked or imported, or a run that never came back,
ends the job as failed with a message in the uploader's language and its file removed; a deadlock is retried once;
and on PostgreSQL, several people importing overlapping files at the same moment all get an answer and every row is
written once."""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ecopark.roles import Role
from ecopark.spreadsheet import read_workbook
from ecopark.uploads import XLSX
from measures.import_jobs import import_commit
from measures.importer import Importer
from measures.models import ImportJob, Measure, MeasureSaving
from tests.factories import EnterpriseFactory
from tests.measures.import_files import filled_template, recp_row, upload
from tests.measures.test_import import IMPORT, english, job_of, post_file, register_state
from tests.test_concurrency_creates import at_once

CHECK_FAILED_VI = "Không kiểm tra được tệp do lỗi máy chủ. Chưa có gì được ghi; hãy tải tệp lên lại."
IMPORT_FAILED_EN = "The import stopped because of an error on the server. Nothing was written; upload the file again."
ABANDONED_EN = "The import did not finish: the server stopped while it ran. Nothing was written; upload the file again."


def stored_file(job: ImportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / job.file.name


def failing_run(*, on_commit_only: bool = False, error: Exception | None = None, times: int = 1000):
    """Importer.run, raising `error` (a bug of the server by default) the first `times` calls (when committing only,
    if asked)."""
    real_run = Importer.run
    calls = {"failed": 0}

    def run(self, workbook, *, commit):
        if (commit or not on_commit_only) and calls["failed"] < times:
            calls["failed"] += 1
            raise error or RuntimeError("a bug")
        return real_run(self, workbook, commit=commit)

    return run


@pytest.mark.django_db
class TestAJobAlwaysEnds:
    def test_an_error_while_checking_ends_the_job_as_failed_in_the_users_language_without_its_file(
        self, staff_client, staff_user, monkeypatch
    ):
        monkeypatch.setattr(Importer, "run", failing_run())
        files_before = set(Path(settings.MEDIA_ROOT).glob("imports/*"))
        response = post_file(staff_client, filled_template(staff_user, measures=[recp_row("job-1", "demo-01")]))
        job = job_of(response)  # the person is taken to the job, not shown a 500
        assert job.state == ImportJob.State.FAILED
        assert [e["message"] for e in job.errors] == [CHECK_FAILED_VI]
        assert not job.file and set(Path(settings.MEDIA_ROOT).glob("imports/*")) == files_before
        page = staff_client.get(reverse("measures:import_job", args=[job.pk])).content.decode()
        assert CHECK_FAILED_VI in page

    def test_an_error_while_importing_ends_the_job_as_failed_and_writes_nothing(
        self, staff_client, staff_user, monkeypatch
    ):
        english(staff_client)
        job = job_of(post_file(staff_client, filled_template(staff_user, measures=[recp_row("job-2", "demo-01")])))
        assert job.state == ImportJob.State.READY and stored_file(job).exists()
        path = stored_file(job)
        before = register_state()
        monkeypatch.setattr(Importer, "run", failing_run(on_commit_only=True))
        response = staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
        assert response.status_code == 302
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED and job.committed_at is None
        assert [e["message"] for e in job.errors] == [IMPORT_FAILED_EN]
        assert not job.file and not path.exists()
        assert register_state() == before

    def test_an_import_refused_because_the_register_changed_also_removes_its_file(self, staff_client, staff_user):
        gone = EnterpriseFactory(code="job-soon-gone")
        job = job_of(post_file(staff_client, filled_template(staff_user, measures=[recp_row("job-3", gone.code)])))
        path = stored_file(job)
        gone.delete()
        staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED and job.errors and not job.file and not path.exists()

    def test_a_deadlock_is_retried_once_and_the_import_goes_through(self, staff_client, staff_user, monkeypatch):
        deadlock = OperationalError("deadlock detected")
        deadlock.__cause__ = type("DeadlockDetected", (Exception,), {"pgcode": "40P01"})()
        job = job_of(post_file(staff_client, filled_template(staff_user, measures=[recp_row("job-4", "demo-01")])))
        monkeypatch.setattr(Importer, "run", failing_run(on_commit_only=True, error=deadlock, times=1))
        staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
        job.refresh_from_db()
        assert job.state == ImportJob.State.DONE, job.errors
        assert Measure.objects.filter(reference="job-4").count() == 1

    def test_a_second_deadlock_ends_the_job_as_failed(self, staff_client, staff_user, monkeypatch):
        deadlock = OperationalError("deadlock detected")
        deadlock.__cause__ = type("DeadlockDetected", (Exception,), {"pgcode": "40P01"})()
        job = job_of(post_file(staff_client, filled_template(staff_user, measures=[recp_row("job-5", "demo-01")])))
        monkeypatch.setattr(Importer, "run", failing_run(on_commit_only=True, error=deadlock, times=2))
        staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED and not Measure.objects.filter(reference="job-5").exists()

    def test_an_import_task_delivered_twice_writes_once(self, staff_client, staff_user):
        job = job_of(post_file(staff_client, filled_template(staff_user, measures=[recp_row("job-6", "demo-01")])))
        staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
        state = register_state()
        again = import_commit(job.pk)  # the task's message came again after the import
        assert again.state == ImportJob.State.DONE and register_state() == state

    @pytest.mark.parametrize("state", [ImportJob.State.VALIDATING, ImportJob.State.COMMITTING])
    def test_a_job_left_running_ends_as_failed_when_its_page_is_opened(self, staff_client, staff_user, state):
        english(staff_client)
        job = job_of(post_file(staff_client, filled_template(staff_user, measures=[recp_row("job-7", "demo-01")])))
        path = stored_file(job)
        two_hours_ago = timezone.now() - datetime.timedelta(hours=2)
        # The server stopped while the job ran, two hours ago.
        ImportJob.objects.filter(pk=job.pk).update(state=state, uploaded_at=two_hours_ago, committed_at=two_hours_ago)
        html = staff_client.get(reverse("measures:import_job", args=[job.pk])).content.decode()
        assert ABANDONED_EN in html and "The reason is below" in html and "the register changed" not in html
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED and not job.file and not path.exists()

    def test_the_import_page_ends_abandoned_jobs_and_leaves_running_ones(self, staff_client, staff_user):
        content = filled_template(staff_user, measures=[recp_row("job-8", "demo-01")])
        abandoned, running = job_of(post_file(staff_client, content)), job_of(post_file(staff_client, content))
        ImportJob.objects.filter(pk=abandoned.pk).update(
            state=ImportJob.State.VALIDATING, uploaded_at=timezone.now() - datetime.timedelta(hours=2)
        )
        ImportJob.objects.filter(pk=running.pk).update(
            state=ImportJob.State.COMMITTING, committed_at=timezone.now() - datetime.timedelta(minutes=5)
        )
        assert staff_client.get(IMPORT).status_code == 200
        abandoned.refresh_from_db(), running.refresh_from_db()
        assert (abandoned.state, running.state) == (ImportJob.State.FAILED, ImportJob.State.COMMITTING)
        assert running.file and stored_file(running).exists()
        progress = staff_client.get(reverse("measures:import_progress", args=[running.pk]))
        assert "HX-Refresh" not in progress  # still running: the bar keeps polling


# Several people importing at once -------------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_five_people_import_overlapping_files_at_once_and_every_row_is_written_once(reference_data):
    people = 5
    user = get_user_model().objects.create_user("staff.imports", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    enterprises = [EnterpriseFactory() for _ in range(3)]
    # Eight measures already in the register, which every file changes in the same way, and eight new ones.
    stored = [recp_row(f"ov-old-{n}", enterprises[n % 3].code) for n in range(8)]
    workbook = read_workbook(upload(filled_template(user, measures=stored)), XLSX)
    assert Importer(user, language="vi").run(workbook, commit=True).ok
    changed = [{**row, "saving_1_quantity": 130000, "title_en": "Changed by the file"} for row in stored]
    shared = changed + [recp_row(f"ov-{n}", enterprises[n % 3].code) for n in range(8)]
    files = []
    for i in range(people):
        rotated = shared[i:] + shared[:i]  # the same rows, each file in another order
        own = [recp_row(f"own-{i}-{n}", enterprises[n % 3].code) for n in range(2)]
        files.append(filled_template(user, measures=(rotated[::-1] if i % 2 else rotated) + own))
    clients = []
    for _ in range(people):
        client = Client(raise_request_exception=False)  # a 500 is an answer here, counted below
        client.force_login(user)
        clients.append(client)

    uploads = at_once(people, lambda i: clients[i].post(IMPORT, {"file": upload(files[i])}))
    assert [getattr(r, "status_code", r) for r in uploads] == [302] * people
    jobs = [ImportJob.objects.get(pk=int(r["Location"].rstrip("/").split("/")[-1])) for r in uploads]
    assert [job.state for job in jobs] == [ImportJob.State.READY] * people, [job.errors for job in jobs]

    confirms = at_once(people, lambda i: clients[i].post(reverse("measures:import_confirm", args=[jobs[i].pk])))
    assert [getattr(r, "status_code", r) for r in confirms] == [302] * people
    for job in jobs:
        job.refresh_from_db()
    assert [job.state for job in jobs] == [ImportJob.State.DONE] * people, [job.errors for job in jobs]
    # The first to import wrote the shared rows; the others found them as they are (the rows are the same).
    assert sorted(job.counts["measures"]["create"] for job in jobs) == [2, 2, 2, 2, 10]
    assert sum(job.counts["measures"]["update"] for job in jobs) == 8
    assert sum(job.counts["measures"]["unchanged"] for job in jobs) == 16 * (people - 1)
    imported = Measure.objects.filter(enterprise__in=enterprises)
    references = list(imported.values_list("reference", flat=True))
    assert len(references) == len(set(references)) == 16 + 2 * people
    updated = imported.filter(reference__startswith="ov-old-")
    assert set(updated.values_list("electricity_kwh", "title_en")) == {(Decimal(130000), "Changed by the file")}
    assert MeasureSaving.objects.filter(measure__in=imported).count() == 2 * len(references)
