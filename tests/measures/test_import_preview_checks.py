"""The import's preview runs every check its commit runs: a row the database would refuse on writing (a negative
investment, an exchange whose source is its sink, figures too large for their columns) is an error of the preview,
with its row, its column where it has one and a message in the uploader's language, never a "ready" that fails at
commit. On SQLite and on PostgreSQL."""

import pytest
from django.urls import reverse

from ecopark.spreadsheet import read_workbook
from ecopark.uploads import XLSX
from measures.importer import Importer
from measures.models import ImportJob
from tests.measures.import_files import filled_template, recp_row, upload
from tests.measures.test_import import IMPORT, english, job_of, register_state, row_error

pytestmark = pytest.mark.django_db

NO_SAVINGS = {f"saving_{n}_{part}": None for n in (1, 2) for part in ("resource", "quantity", "unit")}
EXCHANGE_TO_ITSELF = {
    "kind": "Trao đổi cộng sinh", "enterprise": None, "technique": None, "park": "dinh-vu",
    "exchange_type": "byproduct", "source": "demo-01", "sink": "demo-01", **NO_SAVINGS,
    "flow_1_resource": "water", "flow_1_quantity": 2000, "flow_1_unit": "m3",
}  # fmt: skip
# 90 billion tonnes of coal a year: within the plausible quantity of one resource, but its 219.69 billion tCO2e do
# not fit the figures' column (less than 100 billion), which PostgreSQL refuses on writing.
COAL = {"saving_1_resource": "coal-bituminous", "saving_1_quantity": 90_000_000_000, "saving_1_unit": "t"}

REFUSED_ON_WRITING = [
    ({"investment": -5}, "Vốn đầu tư", "Vốn đầu tư không thể âm.", "The investment cannot be negative."),
    (
        EXCHANGE_TO_ITSELF,
        "",
        "Bên cung cấp và bên tiếp nhận của một trao đổi phải khác nhau.",
        "The source and the sink of an exchange must be different parties.",
    ),
    (COAL, "", "219.690.000.000", "219,690,000,000"),
]


@pytest.mark.parametrize(
    ("change", "column", "vietnamese", "english_words"),
    REFUSED_ON_WRITING,
    ids=["negative-investment", "source-is-sink", "figures-too-large"],
)
def test_a_row_the_database_would_refuse_is_an_error_of_the_preview(
    client, staff_user, change, column, vietnamese, english_words
):
    client.force_login(staff_user)
    # The good row's title holds what a list of values must quote: it is read as written, and passes.
    rows = [
        recp_row("chk-ok", "demo-01", title_vi='Nồi hơi "B-2" \\ {mới}, 2023'),
        {**recp_row("chk-bad", "demo-04"), **change},
    ]
    content = filled_template(staff_user, measures=rows)
    before = register_state()

    job = job_of(client.post(IMPORT, {"file": upload(content)}))
    assert job.state == ImportJob.State.INVALID  # before: "ready", and the import then failed
    [(row, where, message)] = row_error(job)
    assert (row, where) == (3, column)
    assert vietnamese in message
    page = client.get(reverse("measures:import_job", args=[job.pk])).content.decode()
    assert "Nhập các dòng này" not in page  # no button to import a file that cannot be imported

    english(client)
    job = job_of(client.post(IMPORT, {"file": upload(content)}))
    [(row, _where, message)] = row_error(job)
    assert row == 3 and english_words in message
    assert register_state() == before


def _run(user, content: bytes, *, commit: bool):
    return Importer(user, language="en").run(read_workbook(upload(content), XLSX), commit=commit)


def test_the_preview_and_the_commit_find_the_same_errors(staff_user):
    rows = [
        {**recp_row("chk-1", "demo-01"), "investment": -1},
        {**recp_row("chk-2", "demo-04"), **EXCHANGE_TO_ITSELF},
        {**recp_row("chk-3", "demo-07"), **COAL},
        recp_row("chk-4", "demo-01"),
    ]
    content = filled_template(staff_user, measures=rows)
    before = register_state()
    preview = [e.as_dict() for e in _run(staff_user, content, commit=False).errors]
    committed = [e.as_dict() for e in _run(staff_user, content, commit=True).errors]
    assert [e["row"] for e in preview] == [2, 3, 4]
    assert committed == preview
    assert register_state() == before


def test_a_file_whose_only_fault_was_caught_on_writing_imports_once_corrected(staff_client, staff_user):
    bad = job_of(staff_client.post(IMPORT, {"file": upload(filled_template(
        staff_user, measures=[recp_row("chk-fixed", "demo-01", investment=-250)]))}))  # fmt: skip
    assert bad.state == ImportJob.State.INVALID
    good = job_of(staff_client.post(IMPORT, {"file": upload(filled_template(
        staff_user, measures=[recp_row("chk-fixed", "demo-01", investment=250)]))}))  # fmt: skip
    assert good.state == ImportJob.State.READY
    staff_client.post(reverse("measures:import_confirm", args=[good.pk]))
    good.refresh_from_db()
    assert good.state == ImportJob.State.DONE
