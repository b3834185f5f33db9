"""The enterprise admin is a write path like any other: a move to another park takes the enterprise's measures."""

import pytest
from django.urls import reverse

from ecopark.audit import history_of
from enterprises.models import Enterprise
from measures.models import Measure
from parks.models import Park
from tests.forms_helper import form_data
from tests.reports.scratch import differences, from_scratch, table_now

pytestmark = pytest.mark.usefixtures("eager_tasks")


def _post_change_form(client, enterprise: Enterprise, changes: dict):
    """Post the enterprise's admin change form as the browser has it, but for `changes` (name -> value)."""
    url = reverse("admin:enterprises_enterprise_change", args=[enterprise.pk])
    data = form_data(client.get(url).content.decode(), form_id="enterprise_form")
    data.update({name: [value] for name, value in changes.items()})
    return client.post(url, data)


@pytest.mark.django_db
def test_an_enterprise_moved_in_the_admin_takes_its_measures_to_the_new_park(
    client, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    enterprise = Enterprise.objects.get(code="demo-01")
    measures = list(Measure.objects.filter(enterprise=enterprise, kind="recp"))
    assert measures
    new_park = Park.objects.exclude(pk=enterprise.park_id).order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_change_form(client, enterprise, {"park": str(new_park.pk)})
    assert response.status_code == 302, response.context and response.context["errors"]
    enterprise.refresh_from_db()
    assert enterprise.park == new_park
    assert set(Measure.objects.filter(pk__in=[m.pk for m in measures]).values_list("park", flat=True)) == {new_park.pk}
    for measure in measures:
        moved = history_of(measure).filter(action="update").get()
        assert moved.channel == "admin" and moved.changes["park_id"] == [measure.park_id, new_park.pk]
    assert differences(from_scratch(), table_now()) == []


@pytest.mark.django_db
def test_the_enterprise_admin_form_saved_unchanged_changes_nothing(client, admin_user):
    client.force_login(admin_user)
    enterprise = Enterprise.objects.get(code="demo-02")
    entries = list(history_of(enterprise).values_list("pk", flat=True))
    versions = dict(Measure.objects.filter(enterprise=enterprise).values_list("pk", "version"))
    response = _post_change_form(client, enterprise, {})
    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(history_of(enterprise).values_list("pk", flat=True)) == entries
    assert dict(Measure.objects.filter(enterprise=enterprise).values_list("pk", "version")) == versions


@pytest.mark.django_db
def test_an_enterprise_added_in_the_admin_is_created_through_the_service(client, admin_user):
    client.force_login(admin_user)
    add = reverse("admin:enterprises_enterprise_add")
    data = form_data(client.get(add).content.decode(), form_id="enterprise_form")
    park = Park.objects.order_by("pk").first()
    data.update({"park": [str(park.pk)], "code": ["admin-ent-1"], "name": ["Công ty thêm trong admin"]})
    response = client.post(add, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    enterprise = Enterprise.objects.get(code="admin-ent-1")
    assert history_of(enterprise).filter(action="create", channel="admin").exists()
