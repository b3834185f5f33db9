"""The measure pages as staff and park managers use them: lists, forms that refuse bad input and save nothing,
status steps with evidence, the edit conflict, exports and scope."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from enterprises.models import Enterprise
from measures.models import Evidence, Measure, MeasureSaving, Resource, StatusChange
from measures.services import SavingInput, measure_create, measure_transition, measure_update
from tests.factories import recp_measure

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def recp_post(enterprise: Enterprise, savings: list[tuple[str, str, str]], **fields) -> dict:
    """What the browser sends for a new RECP measure, in Vietnamese number and date forms."""
    data = {
        "enterprise": str(enterprise.pk),
        "technique": Measure.Technique.EQUIPMENT_MODIFICATION,
        "reference": "",
        "title_vi": "Thu hồi nhiệt khí thải lò hơi",
        "title_en": "",
        "identified_on": "15/03/2023",
        "estimate_year": "2023",
        "investment_currency": "USD",
        "annual_cost_saving": "12.500",
        "cost_currency": "USD",
        **management("savings", len(savings)),
    }
    for index, (resource, quantity, unit) in enumerate(savings):
        data |= {f"savings-{index}-resource": str(Resource.objects.get(code=resource).pk),
                 f"savings-{index}-quantity": quantity, f"savings-{index}-unit": unit}  # fmt: skip
    data.update(fields)
    return data


@pytest.fixture
def enterprise():
    return Enterprise.objects.get(code="demo-01")  # in Đình Vũ (DEEP C)


@pytest.fixture
def hiep_phuoc_measure():
    return Measure.objects.filter(park__code="hiep-phuoc", kind=Measure.Kind.RECP).order_by("pk").first()


def test_staff_enter_an_recp_measure_with_two_savings_and_get_its_figures(staff_client, enterprise):
    data = recp_post(enterprise, [("electricity", "120.000", "kWh"), ("water", "1,5", "m3")])
    response = staff_client.post("/measures/new/recp/", data)
    assert response.status_code == 302
    measure = Measure.objects.get(title_vi="Thu hồi nhiệt khí thải lò hơi")
    assert measure.reference.startswith("dinh-vu-")
    assert measure.park_id == enterprise.park_id
    assert measure.electricity_kwh == Decimal("120000") and measure.water_m3 == Decimal("1.5")
    assert measure.co2e_t > 0 and measure.annual_cost_saving == Decimal("12500")
    page = staff_client.get(response["Location"])
    assert page.status_code == 200
    assert measure.reference in page.content.decode()
    assert page.context["trail"][0].factor.source  # the CO2e trail names its factor's source


def test_the_preview_shows_what_saving_gives_and_saves_nothing(staff_client, enterprise):
    data = recp_post(enterprise, [("electricity", "120.000", "kWh")])
    before = Measure.objects.count()
    preview = staff_client.post("/measures/new/recp/figures/", data)
    assert Measure.objects.count() == before
    shown = preview.context["preview"].measure.co2e_t
    staff_client.post("/measures/new/recp/", data)
    assert Measure.objects.count() == before + 1
    assert Measure.objects.latest("pk").co2e_t == shown
    assert f'data-preview="co2e_t">{format(shown.normalize(), "f").replace(".", ",")}' in preview.content.decode()


@pytest.mark.parametrize(
    ("savings", "field", "message"),
    [
        ([("water", "-5", "m3")], "quantity", "không thể âm"),
        ([("electricity", "5000000000000", "GWh")], "quantity", "vượt quá mọi giá trị hợp lý"),
        ([("water", "100", "kWh")], "unit", "kWh"),
        ([("electricity", "abc", "kWh")], "quantity", "Nhập một số"),
    ],
)
def test_a_bad_saving_row_is_refused_on_its_field_and_nothing_is_saved(staff_client, enterprise, savings, field,
                                                                        message):  # fmt: skip
    before = (Measure.objects.count(), MeasureSaving.objects.count())
    response = staff_client.post("/measures/new/recp/", recp_post(enterprise, savings))
    assert response.status_code == 200
    errors = response.context["saving_set"].forms[0].errors
    assert field in errors and message in " ".join(errors[field])
    assert (Measure.objects.count(), MeasureSaving.objects.count()) == before


def test_a_measure_without_a_title_or_with_a_bad_date_is_refused(staff_client, enterprise):
    before = Measure.objects.count()
    data = recp_post(enterprise, [], title_vi="", identified_on="31/02/2023")
    response = staff_client.post("/measures/new/recp/", data)
    form = response.context["form"]
    assert "identified_on" in form.errors
    assert Measure.objects.count() == before
    response = staff_client.post("/measures/new/recp/", recp_post(enterprise, [], title_vi=""))
    assert "Hãy đặt tiêu đề cho giải pháp" in response.content.decode()
    assert Measure.objects.count() == before


def test_html_in_a_title_is_kept_as_text_and_shown_escaped(staff_client, enterprise):
    title = '<script>alert("x")</script> Đèn LED'
    response = staff_client.post("/measures/new/recp/", recp_post(enterprise, [], title_vi=title))
    measure = Measure.objects.get(pk=response["Location"].split("/")[-2])
    assert measure.title_vi == title
    page = staff_client.get(f"/measures/{measure.pk}/").content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def exchange_post(source: str, sink: str) -> dict:
    return {
        "park": str(Enterprise.objects.get(code="demo-01").park_id),
        "exchange_type": Measure.ExchangeType.BYPRODUCT,
        "source": source,
        "sink": sink,
        "title_vi": "Tro bay làm vật liệu xây dựng",
        "identified_on": "01/06/2023",
        "estimate_year": "2023",
        "investment_currency": "USD",
        "cost_currency": "USD",
        **management("savings", 0),
        **management("flows", 1),
        "flows-0-resource": str(Resource.objects.get(code="fly-ash-slag").pk),
        "flows-0-quantity": "2.400",
        "flows-0-unit": "t",
        "flows-0-direction": "forward",
    }


def test_an_exchange_between_two_enterprises_is_saved_and_one_with_the_same_source_and_sink_is_refused(staff_client):
    a, b = Enterprise.objects.filter(park__code="dinh-vu").order_by("pk")[:2]
    before = Measure.objects.count()
    response = staff_client.post("/measures/new/is/", exchange_post(f"enterprise:{a.pk}", f"enterprise:{a.pk}"))
    assert "sink" in response.context["form"].errors
    assert Measure.objects.count() == before
    response = staff_client.post("/measures/new/is/", exchange_post(f"enterprise:{a.pk}", f"enterprise:{b.pk}"))
    assert response.status_code == 302
    exchange = Measure.objects.get(pk=response["Location"].split("/")[-2])
    assert (exchange.source_enterprise, exchange.sink_enterprise, exchange.kind) == (a, b, Measure.Kind.IS)
    assert exchange.flows.get().quantity_canonical == Decimal("2400")


def _new_measure(enterprise, staff_user, **fields) -> Measure:
    electricity = Resource.objects.get(code="electricity")
    return measure_create(
        measure=recp_measure(enterprise, **fields),
        savings=[SavingInput(electricity, Decimal("50000"), "kWh")],
        created_by=staff_user,
    )


def test_status_steps_follow_the_lifecycle_and_a_skip_is_refused(staff_client, enterprise, staff_user):
    measure = _new_measure(enterprise, staff_user)
    response = staff_client.post(f"/measures/{measure.pk}/status/", {"to": "implemented", "effective_on": "01/01/2024"})
    assert response.status_code == 302
    measure.refresh_from_db()
    assert measure.status == Measure.Status.IDENTIFIED
    for step in ("proposed", "accepted", "implemented"):
        response = staff_client.post(f"/measures/{measure.pk}/status/", {"to": step, "effective_on": "01/02/2024"})
        assert response.status_code == 302, response.content
    measure.refresh_from_db()
    assert measure.status == Measure.Status.IMPLEMENTED and measure.implemented_on == datetime.date(2024, 2, 1)
    response = staff_client.post(f"/measures/{measure.pk}/status/", {"to": "withdrawn", "effective_on": "01/03/2024"})
    assert "reason" in response.context["form"].errors
    assert Measure.objects.get(pk=measure.pk).status == Measure.Status.IMPLEMENTED


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("report.pdf", b"MZ\x90\x00 not a pdf at all"), "không thuộc các loại"),
        (SimpleUploadedFile("report.xlsx", PDF), "nhưng nội dung là PDF"),
        (SimpleUploadedFile("big.pdf", PDF + b"0" * 2048), "dung lượng tối đa"),
    ],
)
def test_verification_refuses_a_wrong_or_oversized_evidence_file_and_changes_nothing(
    staff_client, enterprise, staff_user, settings, upload, message
):
    settings.EVIDENCE_MAX_BYTES = 1024
    measure = _new_measure(enterprise, staff_user)
    for step in ("proposed", "accepted", "implemented"):
        measure_transition(
            measure=measure, to_status=step, changed_by=staff_user, effective_on=datetime.date(2023, 5, 1)
        )
    saving = measure.savings.get()
    response = staff_client.post(
        f"/measures/{measure.pk}/status/",
        {"to": "verified", "effective_on": "01/06/2023", f"verified_{saving.pk}": "45.000", "evidence": upload},
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["evidence"])
    measure.refresh_from_db()
    assert measure.status == Measure.Status.IMPLEMENTED
    assert not Evidence.objects.filter(measure=measure).exists()
    assert measure.savings.get().verified_quantity is None


def test_verification_with_measured_values_and_evidence(staff_client, client, enterprise, staff_user, manager_user,
                                                        hiep_phuoc_measure):  # fmt: skip
    measure = _new_measure(enterprise, staff_user)
    for step in ("proposed", "accepted", "implemented"):
        measure_transition(
            measure=measure, to_status=step, changed_by=staff_user, effective_on=datetime.date(2023, 5, 1)
        )
    saving = measure.savings.get()
    upload = SimpleUploadedFile("đo-điện.pdf", PDF, content_type="application/octet-stream")
    response = staff_client.post(
        f"/measures/{measure.pk}/status/",
        {"to": "verified", "effective_on": "01/06/2023", f"verified_{saving.pk}": "45.000", "evidence": upload},
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert measure.status == Measure.Status.VERIFIED
    assert measure.electricity_kwh_verified == Decimal("45000") and measure.co2e_verified_t > 0
    evidence = Evidence.objects.get(measure=measure)
    assert evidence.media_type == "application/pdf" and evidence.status_change.to_status == "verified"
    assert "đo-điện" not in evidence.file.name  # stored under a random name
    download = staff_client.get(f"/measures/evidence/{evidence.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert "attachment" in download["Content-Disposition"]
    # DEEP C's manager sees DEEP C's evidence; evidence of a Hiep Phuoc measure is a 404 for them.
    client.force_login(manager_user)
    assert client.get(f"/measures/evidence/{evidence.pk}/").status_code == 200
    other = evidence_add_to(hiep_phuoc_measure, staff_user)
    assert client.get(f"/measures/evidence/{other.pk}/").status_code == 404


def evidence_add_to(measure, user) -> Evidence:
    from measures.services import evidence_add

    return evidence_add(measure=measure, upload=SimpleUploadedFile("x.pdf", PDF), uploaded_by=user)


def test_a_park_manager_gets_404_for_another_parks_measure_and_sees_only_their_parks(manager_client,
                                                                                     hiep_phuoc_measure):  # fmt: skip
    assert manager_client.get(f"/measures/{hiep_phuoc_measure.pk}/").status_code == 404
    page = manager_client.get("/measures/?per_page=100&export=csv")
    rows = list(csv.reader(io.StringIO(b"".join(page.streaming_content).decode("utf-8-sig"))))
    park = rows[0].index("Khu công nghiệp")
    parks = {row[park] for row in rows[1:]}
    assert parks == {"KCN Đình Vũ / DEEP C Hải Phòng I"}
    assert hiep_phuoc_measure.reference not in {row[0] for row in rows}


def test_the_second_of_two_concurrent_edits_is_refused_with_what_changed_and_keeps_its_input(
    client, staff_client, enterprise, staff_user, admin_user
):
    measure = _new_measure(enterprise, staff_user, title_vi="Tiêu đề gốc")
    form = staff_client.get(f"/measures/{measure.pk}/edit/").context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data["editing_since"] = form["editing_since"].value().isoformat()
    data["identified_on"] = "01/03/2022"
    data["enterprise"] = str(enterprise.pk)
    data |= management("savings", 1, 1) | {
        "savings-0-resource": str(Resource.objects.get(code="electricity").pk),
        "savings-0-quantity": "50000",
        "savings-0-unit": "kWh",
    }
    # Someone else saves first.
    measure_update(measure_id=measure.pk, changes={"title_en": "Changed by the other editor"}, changed_by=admin_user,
                   expected_version=measure.version)  # fmt: skip
    data["title_vi"] = "Tiêu đề của tôi"
    response = staff_client.post(f"/measures/{measure.pk}/edit/", data)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Changed by the other editor" in page and "admin" in page  # what changed, and who changed it
    assert 'value="Tiêu đề của tôi"' in page  # this person's input is still in the form
    measure.refresh_from_db()
    assert measure.title_vi == "Tiêu đề gốc" and measure.title_en == "Changed by the other editor"
    # The form shown again holds both: the other's change where this person had not touched the field.
    shown = response.context["form"].data
    assert shown["title_vi"] == "Tiêu đề của tôi" and shown["title_en"] == "Changed by the other editor"
    # Having seen the change, saving again is deliberate and goes through.
    assert staff_client.post(f"/measures/{measure.pk}/edit/", shown.dict()).status_code == 302
    measure.refresh_from_db()
    assert measure.title_vi == "Tiêu đề của tôi" and measure.title_en == "Changed by the other editor"


def test_the_list_finds_without_accents_filters_sorts_and_counts(staff_client, enterprise, staff_user):
    _new_measure(enterprise, staff_user, title_vi="Lắp biến tần cho bơm nước Đình Vũ", reference="t-bien-tan")
    response = staff_client.get("/measures/?q=bien+tan+dinh+vu")
    assert [m.reference for m, _parties in response.context["rows"]] == ["t-bien-tan"]
    response = staff_client.get("/measures/?kind=is&status=identified&sort=-co2e_t&per_page=100")
    rows = [m for m, _parties in response.context["rows"]]
    expected = Measure.objects.filter(kind="is", status="identified").count()
    assert response.context["page"].paginator.count == expected == len(rows) > 1
    assert f'data-count="{expected}"' in response.content.decode()
    assert [m.co2e_t for m in rows] == sorted((m.co2e_t for m in rows), reverse=True)


def test_the_export_holds_every_filtered_row_with_translated_headers_and_no_formulas(staff_client, enterprise,
                                                                                    staff_user):  # fmt: skip
    _new_measure(enterprise, staff_user, title_vi='=HYPERLINK("http://x")', reference="t-formula")
    expected = Measure.objects.filter(kind="recp", park__code="dinh-vu").count()
    response = staff_client.get("/measures/?kind=recp&park=dinh-vu&export=xlsx&per_page=10")
    assert "filename*=utf-8''" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Mã tham chiếu", "Tiêu đề")
    assert len(rows) - 1 == expected > 10
    titles = {row[1] for row in rows}
    assert '\'=HYPERLINK("http://x")' in titles


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["/measures/", "/enterprises/", "/parks/"])
def test_list_pages_cost_the_same_queries_for_10_and_100_rows(staff_client, path):
    # The first page after a change also counts the rows (tests/parks/test_list_counts.py pins that); then the count
    # is kept until the next write.
    first = _queries(staff_client, path)
    ten, hundred = _queries(staff_client, f"{path}?per_page=10"), _queries(staff_client, f"{path}?per_page=100")
    assert ten == hundred
    assert ten == {"/measures/": 7, "/enterprises/": 7, "/parks/": 6}[path]
    assert first == {"/measures/": 8, "/enterprises/": 7, "/parks/": 9}[path]


def test_status_history_and_change_history_are_on_the_measure_page(staff_client, enterprise, staff_user):
    measure = _new_measure(enterprise, staff_user)
    measure_transition(measure=measure, to_status="proposed", changed_by=staff_user,
                       effective_on=datetime.date(2022, 4, 1))  # fmt: skip
    measure_update(measure_id=measure.pk, changes={"title_en": "Compressed air"}, changed_by=staff_user)
    page = staff_client.get(f"/measures/{measure.pk}/")
    assert StatusChange.objects.filter(measure=measure).count() == 2
    assert len(page.context["statuses"]) == 2
    changes = [c for row in page.context["history"] for c in row["changes"]]
    assert ("tiêu đề (tiếng Anh)", "", "Compressed air") in changes


def test_the_export_says_which_measures_increase_the_use_of_a_resource(staff_client, enterprise, staff_user):
    electricity = Resource.objects.get(code="electricity")
    assert electricity.allows_negative_saving  # electrifying a boiler raises the use of electricity
    measure_create(
        measure=recp_measure(enterprise, reference="t-increase", title_vi="Điện hóa lò hơi"),
        savings=[SavingInput(electricity, Decimal("-250000"), "kWh", negative_confirmed=True)],
        created_by=staff_user,
    )
    _new_measure(enterprise, staff_user, reference="t-decrease")
    response = staff_client.get("/measures/?q=t-&export=csv&per_page=10")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("Làm tăng sử dụng tài nguyên")
    flags = {row[0]: row[column] for row in rows[1:]}
    assert flags["t-increase"] == "có" and flags["t-decrease"] == "không"
