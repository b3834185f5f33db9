"""Import jobs: an uploaded file is checked (a preview, nothing written), then imported on confirmation.

Small files are checked and imported during the request; larger ones (more than IMPORT_SYNC_MAX_ROWS rows) by
Celery tasks, with their progress in the cache for the page's progress bar. The job row is the import log.
"""

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation

from ecopark.roles import sees_all_parks
from ecopark.spreadsheet import Workbook, read_workbook
from ecopark.uploads import CSV, XLSX, check_upload, stored_name
from measures.importer import Importer, Outcome, RowError
from measures.models import ImportJob

IMPORT_TYPES = (XLSX, CSV)
State = ImportJob.State


def jobs_visible_to(user):
    """Programme staff see every import; others see their own."""
    jobs = ImportJob.objects.select_related("uploaded_by")
    return jobs if sees_all_parks(user) else jobs.filter(uploaded_by=user)


def progress_key(job_id: int) -> str:
    return f"ecopark:import:{job_id}:progress"


def progress_of(job: ImportJob) -> dict:
    """How far a running job is: {"stage", "done", "total"} (from the cache, written by the run)."""
    return cache.get(progress_key(job.pk)) or {"stage": "", "done": 0, "total": job.row_count}


def read_upload(upload) -> tuple[object, Workbook]:
    """The checked type and the workbook of an uploaded file; a file that is too large (refused before it is read),
    empty, of another type or unreadable is a ValidationError."""
    kind = check_upload(upload, allowed=IMPORT_TYPES, max_bytes=settings.IMPORT_MAX_BYTES)
    return kind, read_workbook(upload, kind)


def import_start(*, upload, user, language: str) -> ImportJob:
    """Keep the upload as a new job and check it: now for a small file, in a task for a large one."""
    kind, workbook = read_upload(upload)
    rows = Importer(user, language=language).count_rows(workbook)
    job = ImportJob(
        uploaded_by=user,
        original_name=(upload.name or "")[:200],
        file_type=kind.code,
        size=upload.size,
        language=language,
        row_count=rows,
    )
    job.file.save(stored_name(kind), upload, save=False)
    job.save()
    if rows <= settings.IMPORT_SYNC_MAX_ROWS:
        import_check(job.pk, workbook=workbook)
    else:
        from measures.tasks import import_check_task

        transaction.on_commit(lambda: import_check_task.delay(job.pk))
    job.refresh_from_db()
    return job


def _workbook(job: ImportJob) -> Workbook:
    kind = XLSX if job.file_type == XLSX.code else CSV
    with job.file.open("rb") as handle:
        handle.name = job.original_name
        return read_workbook(handle, kind)


def _run(job: ImportJob, *, commit: bool, workbook: Workbook | None = None) -> Outcome:
    def progress(stage: str, done: int, total: int) -> None:
        cache.set(progress_key(job.pk), {"stage": stage, "done": done, "total": total}, timeout=3600)

    with translation.override(job.language):
        try:
            workbook = workbook or _workbook(job)
        except ValidationError as error:  # the stored file no longer reads (it did when uploaded)
            return Outcome(errors=[RowError(job.original_name, 0, "", error.messages[0])])
        return Importer(job.uploaded_by, language=job.language, progress=progress).run(workbook, commit=commit)


def _store(job: ImportJob, outcome: Outcome, state: str, **fields) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        state=state,
        counts=outcome.counts,
        plan=outcome.plan,
        errors=[e.as_dict() for e in outcome.errors],
        notes=outcome.notes,
        row_count=outcome.row_count or job.row_count,
        **fields,
    )
    cache.delete(progress_key(job.pk))


def import_check(job_id: int, *, workbook: Workbook | None = None) -> ImportJob:
    """The preview: run the import and roll it back, keeping what it would create, update and leave, and its errors."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    outcome = _run(job, commit=False, workbook=workbook)
    _store(job, outcome, State.READY if outcome.ok else State.INVALID, checked_at=timezone.now())
    job.refresh_from_db()
    return job


def import_confirm(*, job: ImportJob) -> bool:
    """Start importing a checked job (once: a second click finds it already started). False if it is not ready."""
    started = ImportJob.objects.filter(pk=job.pk, state=State.READY).update(state=State.COMMITTING)
    if not started:
        return False
    if job.row_count <= settings.IMPORT_SYNC_MAX_ROWS:
        import_commit(job.pk)
    else:
        from measures.tasks import import_commit_task

        transaction.on_commit(lambda: import_commit_task.delay(job.pk))
    return True


def import_commit(job_id: int) -> ImportJob:
    """Write every row in one transaction, or none (the data may have changed since the preview: then the errors are
    kept and nothing is written)."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    outcome = _run(job, commit=True)
    committed_at = timezone.now() if outcome.ok else None
    _store(job, outcome, State.DONE if outcome.ok else State.FAILED, committed_at=committed_at)
    job.refresh_from_db()
    return job
