"""Import jobs: an uploaded file is checked (a preview, nothing written), then imported on confirmation.

Small files are checked and imported during the request; larger ones (more than IMPORT_SYNC_MAX_ROWS rows) by
Celery tasks, with their progress in the cache for the page's progress bar. The job row is the import log.

Every job ends: ready, invalid, done or failed. An error of the server while it runs, or a run that never came back
(a worker or server that stopped), ends it as failed with a message in the uploader's language, and its file removed.
A task the queue could not take (Redis down) is not lost: the job waits, says so on its page, and the periodic sweep
(`import_sweep`) sends it once the queue is back; the upload or confirmation itself answers at once.
"""

import datetime
import logging

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ecopark.locks import is_retryable
from ecopark.roles import sees_all_parks
from ecopark.spreadsheet import Workbook, read_workbook
from ecopark.uploads import CSV, XLSX, check_upload, stored_name
from measures.importer import Importer, Outcome, RowError
from measures.models import ImportJob

IMPORT_TYPES = (XLSX, CSV)
State = ImportJob.State
# A job still checking or importing after this long was abandoned: a task is stopped after 30 minutes
# (CELERY_TASK_TIME_LIMIT) and a request much sooner, and a lost task is delivered again well within it. The clock
# starts when the task was handed to the queue; a job still waiting for the queue is not abandoned.
ABANDONED_AFTER = datetime.timedelta(hours=1)
# A job waiting for the queue is sent again by the sweep after this long (sooner, its first attempt may still run).
RESEND_AFTER = datetime.timedelta(minutes=1)

logger = logging.getLogger(__name__)


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
    in_task = rows > settings.IMPORT_SYNC_MAX_ROWS
    job = ImportJob(
        uploaded_by=user,
        original_name=(upload.name or "")[:200],
        file_type=kind.code,
        size=upload.size,
        language=language,
        row_count=rows,
        waiting_for_queue=in_task,  # until the queue has taken its task: the job is not lost if it cannot
    )
    job.file.save(stored_name(kind), upload, save=False)
    job.save()
    if in_task:
        transaction.on_commit(lambda: _send(job))
    else:
        import_check(job.pk, workbook=workbook)
    job.refresh_from_db()
    return job


def _send(job: ImportJob) -> bool:
    """Hand the task of a job waiting for the queue (its check, or its import) to the queue, its result unread; then
    the job no longer waits. False, logged, while the queue cannot be reached: the job keeps waiting for the sweep.
    Never raises and never waits long (the person who uploaded is answered at once)."""
    from measures.tasks import import_check_task, import_commit_task
    from reports.tasks import enqueue

    task = import_commit_task if job.state == State.COMMITTING else import_check_task
    what = f"import {job.pk} ({job.state}; the periodic sweep sends it later)"
    if not enqueue(task, what, kwargs={"job_id": job.pk}):
        return False
    # Without a broker (development) the task has run here already and the job may have ended: it was sent all the same.
    ImportJob.objects.filter(pk=job.pk, waiting_for_queue=True).update(
        waiting_for_queue=False, queued_at=timezone.now()
    )
    return True


def import_send_waiting(jobs=None) -> int:
    """Send the tasks of the jobs (of the queryset `jobs`, or every job) that wait for the queue: it could not be
    reached when they were uploaded or confirmed, or the server stopped before sending. Returns how many were sent."""
    settled = timezone.now() - RESEND_AFTER
    waiting = (
        (ImportJob.objects.all() if jobs is None else jobs)
        .filter(waiting_for_queue=True)
        .filter(
            Q(state=State.VALIDATING, uploaded_at__lt=settled) | Q(state=State.COMMITTING, committed_at__lt=settled)
        )
    )
    return sum(_send(job) for job in waiting.order_by("pk"))


def _workbook(job: ImportJob) -> Workbook:
    kind = XLSX if job.file_type == XLSX.code else CSV
    # The storage's own file object: naming it as uploaded (for the reader's messages) leaves job.file's name alone.
    with job.file.storage.open(job.file.name, "rb") as handle:
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
        try:
            return Importer(job.uploaded_by, language=job.language, progress=progress).run(workbook, commit=commit)
        except OperationalError as error:
            # Chosen by the database to break a deadlock with another writer (rolled back, nothing kept): once more.
            if not is_retryable(error):
                raise
            logger.warning("import %s: retried after %s", job.pk, error)
            return Importer(job.uploaded_by, language=job.language, progress=progress).run(workbook, commit=commit)


def _store(job: ImportJob, outcome: Outcome, state: str, **fields) -> bool:
    """Keep the outcome of the run, if the job is still in the state it was run for (a second delivery of its task,
    sent again by the sweep or by the broker, finds it ended and leaves the first run's log as it is)."""
    stored = ImportJob.objects.filter(pk=job.pk, state=job.state).update(
        state=state,
        counts=outcome.counts,
        plan=outcome.plan,
        errors=[e.as_dict() for e in outcome.errors],
        notes=outcome.notes,
        row_count=outcome.row_count or job.row_count,
        **fields,
    )
    cache.delete(progress_key(job.pk))
    return bool(stored)


def _remove_file(job: ImportJob) -> None:
    if job.file:
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")


def _fail(job: ImportJob, message: str) -> None:
    """End a running job as failed, with `message` in the uploader's language as its error, and remove its file."""
    with translation.override(job.language):
        errors = [RowError("", 0, "", _(message)).as_dict()]
    ended = ImportJob.objects.filter(pk=job.pk, state__in=ImportJob.RUNNING).update(
        state=State.FAILED, errors=errors, committed_at=None
    )
    cache.delete(progress_key(job.pk))
    if ended:
        _remove_file(job)


# Translated in the uploader's language when the job ends (`_fail`).
CHECK_FAILED = gettext_noop(
    "The file could not be checked because of an error on the server. Nothing was written; upload it again."
)
IMPORT_FAILED = gettext_noop(
    "The import stopped because of an error on the server. Nothing was written; upload the file again."
)
ABANDONED = gettext_noop(
    "The import did not finish: the server stopped while it ran. Nothing was written; upload the file again."
)


def import_check(job_id: int, *, workbook: Workbook | None = None) -> ImportJob:
    """The preview: run the import and roll it back, keeping what it would create, update and leave, and its errors.
    A job already checked (a task delivered twice) is left as it is."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    if job.state == State.VALIDATING:
        try:
            outcome = _run(job, commit=False, workbook=workbook)
        except Exception:
            logger.exception("import %s: the check failed", job.pk)
            _fail(job, CHECK_FAILED)
        else:
            _store(job, outcome, State.READY if outcome.ok else State.INVALID, checked_at=timezone.now())
    job.refresh_from_db()
    return job


def import_confirm(*, job: ImportJob) -> bool:
    """Start importing a checked job (once: a second click finds it already started). False if it is not ready."""
    # While it runs, committed_at is when the import began (to tell an abandoned one); once done, when it ended.
    in_task = job.row_count > settings.IMPORT_SYNC_MAX_ROWS
    started = ImportJob.objects.filter(pk=job.pk, state=State.READY).update(
        state=State.COMMITTING, committed_at=timezone.now(), waiting_for_queue=in_task
    )
    if not started:
        return False
    if in_task:
        job.state = State.COMMITTING
        transaction.on_commit(lambda: _send(job))
    else:
        import_commit(job.pk)
    return True


def import_commit(job_id: int) -> ImportJob:
    """Write every row in one transaction, or none (the data may have changed since the preview: then the errors are
    kept and nothing is written, and the job fails). A job no longer importing (a task delivered twice) is left."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    if job.state == State.COMMITTING:
        try:
            outcome = _run(job, commit=True)
        except Exception:
            logger.exception("import %s: the import failed", job.pk)
            _fail(job, IMPORT_FAILED)
        else:
            committed_at = timezone.now() if outcome.ok else None
            stored = _store(job, outcome, State.DONE if outcome.ok else State.FAILED, committed_at=committed_at)
            if stored and not outcome.ok:
                _remove_file(job)
    job.refresh_from_db()
    return job


def import_fail_abandoned(jobs=None) -> int:
    """End as failed the jobs (of the queryset `jobs`, or every job) still checking or importing ABANDONED_AFTER
    after they started, or after their task was handed to the queue: whatever ran them stopped. A job waiting for
    the queue has not started and is left to the sweep. Returns how many."""
    cutoff = timezone.now() - ABANDONED_AFTER
    not_queued_since = Q(queued_at__isnull=True) | Q(queued_at__lt=cutoff)
    stale = (ImportJob.objects.all() if jobs is None else jobs).filter(
        not_queued_since,
        Q(state=State.VALIDATING, uploaded_at__lt=cutoff)
        | Q(state=State.COMMITTING, committed_at__lt=cutoff)
        | Q(state=State.COMMITTING, committed_at__isnull=True, checked_at__lt=cutoff),
        waiting_for_queue=False,
    )
    abandoned = list(stale)
    for job in abandoned:
        logger.warning("import %s: abandoned while %s", job.pk, job.state)
        _fail(job, ABANDONED)
    return len(abandoned)


def import_sweep() -> tuple[int, int]:
    """What the periodic sweep does for imports: send the jobs waiting for the queue, then end the abandoned ones.
    Returns how many of each."""
    return import_send_waiting(), import_fail_abandoned()
