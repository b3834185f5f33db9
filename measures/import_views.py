"""The import pages (under /measures/import/): the template, the upload, the preview, the progress and the log."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ecopark.access import measure_writers
from ecopark.uploads import XLSX
from measures.import_jobs import (
    import_confirm,
    import_fail_abandoned,
    import_send_waiting,
    import_start,
    jobs_visible_to,
    progress_of,
)
from measures.import_template import template_csv, template_xlsx
from measures.models import ImportJob


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet (XLSX or CSV)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


@require_http_methods(["GET", "POST"])
@measure_writers
def import_page(request):
    """Download the template, upload a filled copy, and see the imports made before."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_start(upload=form.cleaned_data["file"], user=request.user, language=get_language())
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("measures:import_job", pk=job.pk)
    import_fail_abandoned(jobs_visible_to(request.user))
    jobs = jobs_visible_to(request.user)[:20]
    return render(request, "measures/import.html", {"form": form, "jobs": jobs})


@require_GET
@measure_writers
def import_template(request, fmt: str):
    """The template in the user's language: the workbook, or one table as CSV (?table=measures|enterprises)."""
    language = get_language()
    if fmt == "xlsx":
        response = HttpResponse(template_xlsx(request.user, language), content_type=XLSX.media_type)
        name = _("ecopark-import-template") + ".xlsx"
    elif fmt == "csv":
        table = request.GET.get("table", "measures")
        if table not in ("measures", "enterprises"):
            raise Http404
        response = HttpResponse(template_csv(table, language), content_type="text/csv; charset=utf-8")
        name = f"{_('ecopark-import-template')}-{table}.csv"
    else:
        raise Http404
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _job(request, pk: int) -> ImportJob:
    """The job, if this person may see it; one left running by a server that stopped is ended as failed first."""
    job = get_object_or_404(jobs_visible_to(request.user), pk=pk)
    if job.state in ImportJob.RUNNING and import_fail_abandoned(ImportJob.objects.filter(pk=job.pk)):
        job.refresh_from_db()
    return job


@require_GET
@measure_writers
def import_job(request, pk: int):
    """A job: its progress while it runs, its preview (to confirm), or its result. A job still waiting for the task
    queue is sent again now if the queue is back (else the page says it waits, and the periodic sweep sends it)."""
    job = _job(request, pk)
    if job.waiting_for_queue and import_send_waiting(ImportJob.objects.filter(pk=job.pk)):
        job.refresh_from_db()
    by_table = {}
    for entry in job.plan:
        by_table.setdefault(entry["table"], []).append(entry)
    return render(
        request,
        "measures/import_job.html",
        {"job": job, "progress": progress_of(job), "plan": by_table, "running": job.state in ImportJob.RUNNING},
    )


@require_GET
@measure_writers
def import_progress(request, pk: int):
    """The progress bar alone, polled by the page while the job runs; when it ends, the page reloads."""
    job = _job(request, pk)
    response = render(request, "measures/_import_progress.html", {"job": job, "progress": progress_of(job)})
    if job.state not in ImportJob.RUNNING:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@measure_writers
def import_confirm_view(request, pk: int):
    """Write the previewed rows: all in one transaction, or none."""
    job = _job(request, pk)
    if not import_confirm(job=job):
        messages.error(request, _("This import is not ready to be written (it has errors or has already started)."))
    return redirect("measures:import_job", pk=job.pk)
