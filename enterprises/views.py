"""The enterprise pages: the list (filter, search, sort, export), an enterprise's page and its form."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from ecopark.access import enterprise_writers, may_write_enterprises, may_write_measures, page_readers
from ecopark.audit import history_of
from ecopark.forms import add_service_errors
from ecopark.listing import Column, ListPage, search_text_matches
from enterprises.filtersets import EnterprisePageFilterSet
from enterprises.forms import EnterpriseForm
from enterprises.selectors import enterprises_visible_to, recp_counts
from enterprises.services import EDITABLE_FIELDS, enterprise_create, enterprise_update
from measures.history import record_history
from measures.selectors import measures_visible_to

COLUMNS = [
    Column("code", gettext_lazy("Reference"), lambda e: e.code, ("code",)),
    Column("name", gettext_lazy("Name"), lambda e: e.name, ("name",)),
    Column("park", gettext_lazy("Park"), lambda e: e.park.name, ("park__name_vi",)),
    Column("province", gettext_lazy("Province"), lambda e: e.park.province.name, ("park__province__name_vi",)),
    Column("sector", gettext_lazy("Sector (VSIC)"), lambda e: e.sector_code, ("sector_code",)),
    Column("size", gettext_lazy("Size"), lambda e: e.get_size_display(), ("size",)),
    Column("recp_count", gettext_lazy("RECP measures"), lambda e: e.recp_count, ("recp_count",), numeric=True),
    Column("consent", gettext_lazy("Partners may see its figures"), lambda e: e.partner_consent, ("partner_consent",)),
]


@require_GET
@page_readers
def enterprise_list(request):
    """The enterprises of the user's parks, with their count of RECP measures."""
    enterprises = (
        enterprises_visible_to(request.user).select_related("park__province").annotate(recp_count=recp_counts())
    )
    listing = ListPage(
        request,
        queryset=enterprises,
        filterset_class=EnterprisePageFilterSet,
        columns=COLUMNS,
        default_sort="name",
        search=search_text_matches,
    )
    if listing.export_format:
        return listing.export(name=_("enterprises"))
    context = {"listing": listing, "page": listing.page(), "may_write": may_write_enterprises(request.user)}
    return render(request, "enterprises/enterprise_list.html", context)


@require_GET
@page_readers
def enterprise_detail(request, pk: int):
    """An enterprise: its details, its measures and exchanges, and its change history."""
    enterprise = get_object_or_404(enterprises_visible_to(request.user).select_related("park__province"), pk=pk)
    measures = (
        measures_visible_to(request.user)
        .filter(Q(enterprise=enterprise) | Q(source_enterprise=enterprise) | Q(sink_enterprise=enterprise))
        .order_by("reference")
        .only("id", "reference", "kind", "title_vi", "title_en", "status", "co2e_t", "electricity_kwh", "water_m3")
    )
    context = {
        "enterprise": enterprise,
        "measures": measures,
        "history": record_history(history_of(enterprise)[:100]),
        "may_write": may_write_enterprises(request.user),
        "may_write_measures": may_write_measures(request.user),
    }
    return render(request, "enterprises/enterprise_detail.html", context)


@require_http_methods(["GET", "POST"])
@enterprise_writers
def enterprise_form(request, pk: int | None = None):
    """Create an enterprise, or change one (its RECP measures follow it if it moves to another park)."""
    enterprise = get_object_or_404(enterprises_visible_to(request.user), pk=pk) if pk is not None else None
    form = EnterpriseForm(request.POST or None, instance=enterprise, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            if enterprise is None:
                saved = enterprise_create(enterprise=form.save(commit=False))
            else:
                changes = {f: form.cleaned_data[f] for f in form.changed_data if f in EDITABLE_FIELDS}
                saved = enterprise_update(enterprise_id=enterprise.pk, changes=changes)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Enterprise %(name)s saved.") % {"name": saved.name})
            return redirect("enterprises:detail", pk=saved.pk)
    return render(request, "enterprises/enterprise_form.html", {"form": form, "enterprise": enterprise})
