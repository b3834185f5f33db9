"""An error of a savings row that belongs to the whole row (the confirmation of a negative saving) shows under the
row, across its width, not squeezed into the checkbox's column."""

import re

import pytest
from django.conf import settings
from django.db.models import Count

from measures.models import Measure, Resource
from tests.forms_helper import form_fields

pytestmark = pytest.mark.django_db

FORM = "measure-form"
MESSAGE = "a negative quantity means the measure increases its use"


def rows_of(page: str) -> list[str]:
    return re.findall(r'<fieldset class="line-row" data-line>.*?</fieldset>', page, flags=re.S)


def test_the_negative_saving_confirmation_error_is_under_the_row(staff_client):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    electricity = Resource.objects.get(code="electricity")
    measure = (
        Measure.objects.filter(kind=Measure.Kind.RECP, savings__resource=electricity)
        .annotate(lines=Count("savings"))
        .order_by("pk")
        .first()
    )
    url = f"/measures/{measure.pk}/edit/"
    _, data = form_fields(staff_client.get(url).content.decode(), form_id=FORM)
    row = next(
        i for i in range(int(data["savings-TOTAL_FORMS"][0])) if data[f"savings-{i}-resource"] == [str(electricity.pk)]
    )
    data[f"savings-{row}-quantity"] = ["-250"]
    data.pop(f"savings-{row}-negative_confirmed", None)
    response = staff_client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    shown = rows_of(page)[row]
    assert MESSAGE in shown
    box = re.search(r'<div class="field field-negative_confirmed">.*?</div>', shown, flags=re.S).group(0)
    assert MESSAGE not in box and "errorlist" not in box  # not in the checkbox's narrow column
    wide = re.search(r'<div class="errorlist-wrap row-errors"[^>]*>(.*?)</div>', shown, flags=re.S)
    assert wide is not None and MESSAGE in wide.group(1)
    # The box still points screen readers to its message.
    described = re.search(r'aria-describedby="([^"]+)"', box).group(1)
    assert f'id="{described}"' in wide.group(0) or f'id="{described}"' in shown.split("row-errors", 1)[1]


EMPTY_HINT = "The computed tCO₂e and cost appear here as you fill in the form."


def preview_of(page: str) -> str:
    return page.split('id="figures-preview"', 1)[1].split("</section>", 1)[0]


def test_a_new_exchange_refused_on_saving_shows_why_in_the_preview(staff_client):
    from enterprises.models import Enterprise

    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    enterprise = Enterprise.objects.get(code="demo-01")
    electricity = Resource.objects.get(code="fly-ash-slag")
    _, data = form_fields(staff_client.get("/measures/new/is/").content.decode(), form_id=FORM)
    data.update(
        park=[str(enterprise.park_id)],
        exchange_type=["byproduct"],
        source=[f"enterprise:{enterprise.pk}"],
        sink=[f"enterprise:{enterprise.pk}"],
        title_en=["Slag to the same plant"],
        **{"flows-0-resource": [str(electricity.pk)], "flows-0-quantity": ["120"], "flows-0-unit": ["t"]},
    )
    response = staff_client.post("/measures/new/is/", data)
    assert response.status_code == 200
    shown = preview_of(response.content.decode())
    assert "The sink must be another party than the source." in shown
    assert EMPTY_HINT not in shown


def test_a_new_measure_form_opened_empty_shows_the_hint(staff_client):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert EMPTY_HINT in preview_of(staff_client.get("/measures/new/is/").content.decode())
