"""Uploaded files live in one store that every web and worker process shares: the MEDIA_ROOT folder by default, or
an S3-compatible bucket named by the environment. The bucket tests run against a real S3 server on loopback
(moto's), through the pages a person uses: evidence uploaded and downloaded, an import checked and written by its
tasks from the bucket, and nothing left in the local folder."""

import datetime
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ecopark.settings.base import media_storage
from enterprises.models import Enterprise
from measures import services
from measures.models import Evidence, ImportJob, Measure, Resource
from tests.ecopark.test_settings import PRODUCTION, manage
from tests.factories import EnterpriseFactory, recp_measure
from tests.forms_helper import submit
from tests.measures.import_files import filled_template, recp_row
from tests.measures.test_import import english, job_of, post_file
from tests.s3_server import client, environment, keys_in, s3_server

pytestmark = pytest.mark.django_db
# What the started app keeps its files in: the storage's class and the places it names.
DESCRIBE_STORAGE = (
    "from django.core.files.storage import storages; s = storages['default']; "
    "print(type(s).__name__, *(v for a in ('location', 'bucket_name', 'endpoint_url', 'region_name') "
    "if (v := getattr(s, a, ''))))"
)


def production_storage(**env: str):
    return manage("shell", "--no-imports", "-c", DESCRIBE_STORAGE, env={**PRODUCTION, **env})


class TestTheStoreIsChosenByTheEnvironment:
    def test_by_default_files_are_kept_in_the_folder_media_root_names(self):
        result = production_storage(MEDIA_ROOT="/srv/ecopark-shared/media")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["FileSystemStorage", "/srv/ecopark-shared/media"]

    def test_a_bucket_name_alone_keeps_them_in_that_bucket_at_the_endpoint_and_region_given(self):
        result = production_storage(
            AWS_STORAGE_BUCKET_NAME="ecopark-media",
            AWS_S3_ENDPOINT_URL="https://s3.example.org",
            AWS_S3_REGION_NAME="ap-southeast-1",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["S3Storage", "ecopark-media", "https://s3.example.org", "ap-southeast-1"]

    def test_s3_without_a_bucket_stops_start_up_with_a_message_naming_the_variable(self):
        result = production_storage(FILE_STORAGE="s3")
        assert result.returncode != 0
        assert "AWS_STORAGE_BUCKET_NAME is required with FILE_STORAGE=s3" in result.stderr

    def test_an_unknown_kind_of_store_is_refused_not_taken_for_the_folder(self):
        result = production_storage(FILE_STORAGE="nfs")
        assert result.returncode != 0
        assert "FILE_STORAGE must be filesystem or s3, not 'nfs'" in result.stderr


@pytest.fixture(scope="module")
def s3_endpoint():
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint, settings, monkeypatch) -> str:
    """A new bucket on the server, and the app's files in it, configured as an operator would (the environment)."""
    name = f"ecopark-{uuid.uuid4().hex[:12]}"
    client(s3_endpoint).create_bucket(Bucket=name)
    for variable, value in environment(s3_endpoint, name).items():
        monkeypatch.setenv(variable, value)
    settings.STORAGES = {**settings.STORAGES, "default": media_storage()}
    return name


def local_files() -> set[Path]:
    return {path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()}


def test_evidence_uploaded_to_verify_a_measure_is_kept_in_the_bucket_and_downloads_intact(
    bucket, s3_endpoint, staff_client, staff_user
):
    measure = services.measure_create(
        measure=recp_measure(Enterprise.objects.get(code="demo-01")),
        savings=[services.SavingInput(Resource.objects.get(code="electricity"), Decimal("1000"), "kWh")],
    )
    for step in ("proposed", "accepted", "implemented"):
        services.measure_transition(
            measure=measure, to_status=step, changed_by=staff_user, effective_on=datetime.date(2023, 1, 1)
        )
    before = local_files()
    readings = b"%PDF-1.4\n% meter readings 2023, pump house 2\n"
    url = reverse("measures:status", args=[measure.pk]) + "?to=verified"
    response = submit(
        staff_client,
        url,
        form_id="status-form",
        changes={
            f"verified_{measure.savings.get().pk}": "900",
            "evidence": SimpleUploadedFile("meter-readings.pdf", readings),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    evidence = Evidence.objects.get(measure=measure)
    assert keys_in(s3_endpoint, bucket) == {evidence.file.name}
    assert local_files() == before

    page = staff_client.get(reverse("measures:detail", args=[measure.pk])).content.decode()
    link = reverse("measures:evidence", args=[evidence.pk])
    assert f'href="{link}">meter-readings.pdf</a>' in page
    download = staff_client.get(link)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == readings
    assert 'filename="meter-readings.pdf"' in download["Content-Disposition"]


def test_an_import_checked_and_written_by_its_tasks_reads_the_upload_back_from_the_bucket(
    bucket, s3_endpoint, staff_client, staff_user, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 2  # three rows: the check and the import run as tasks, reading the stored file
    english(staff_client)
    before = local_files()
    content = filled_template(staff_user, measures=[recp_row(f"s3-{n}", "demo-01") for n in range(3)])
    with django_capture_on_commit_callbacks(execute=True):
        job = job_of(post_file(staff_client, content, "assessment.xlsx"))
    job.refresh_from_db()
    assert job.state == ImportJob.State.READY, job.errors
    assert keys_in(s3_endpoint, bucket, "imports/") == {job.file.name}
    assert client(s3_endpoint).get_object(Bucket=bucket, Key=job.file.name)["Body"].read() == content

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE, job.errors
    assert sorted(Measure.objects.filter(reference__startswith="s3-").values_list("reference", flat=True)) == [
        "s3-0",
        "s3-1",
        "s3-2",
    ]
    page = staff_client.get(reverse("measures:import_job", args=[job.pk])).content.decode()
    assert "every row was written" in page
    assert local_files() == before


def test_an_import_refused_at_the_last_step_removes_its_file_from_the_bucket(
    bucket, s3_endpoint, staff_client, staff_user
):
    gone = EnterpriseFactory(code="s3-soon-gone")
    job = job_of(post_file(staff_client, filled_template(staff_user, measures=[recp_row("s3-gone", gone.code)])))
    assert job.state == ImportJob.State.READY and keys_in(s3_endpoint, bucket) == {job.file.name}
    gone.delete()
    staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED and not job.file
    assert keys_in(s3_endpoint, bucket) == set()
