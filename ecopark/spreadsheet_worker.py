"""Reading an uploaded spreadsheet in a child process with a memory and a time limit.

`read_in_child` runs `python -m ecopark.spreadsheet_worker`, gives it the file on stdin and gets the rows back as
JSON. The child limits its own address space (RLIMIT_AS) and CPU time, and the parent waits a bounded time: a file
built to exhaust memory or time ends the child, not the web or Celery worker, and the upload is refused with a
message. The child runs without translations (USE_I18N off), so a refusal comes back as its message id and
parameters and is translated here, in the uploader's language.
"""

import datetime
import io
import json
import logging
import resource
import subprocess
import sys
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ecopark.uploads import CSV, XLSX, FileType

MEMORY_BYTES = 1 << 30  # 1 GiB of address space: ten times what a 20,000-row file needs
SECONDS = 45  # below gunicorn's 60 s, so a request that reads a file still answers
# Text the rows may carry back, in all: a shared string repeated in every cell would otherwise multiply.
MAX_TEXT_CHARS = 40_000_000

logger = logging.getLogger(__name__)


def _too_costly() -> ValidationError:
    return ValidationError(
        _(
            "The spreadsheet needs more memory or time to read than an import allows. Remove what is not part of "
            "the table (other sheets, pictures, stray cells), or split the file, and upload it again."
        ),
        code="too_costly",
    )


def read_in_child(upload, kind: FileType, limits):
    """The workbook of `upload`, read by a bounded child process; its refusals are raised here, translated."""
    from ecopark.spreadsheet import Sheet, Workbook

    upload.seek(0)
    content = upload.read()
    upload.seek(0)
    command = [
        sys.executable,
        "-m",
        "ecopark.spreadsheet_worker",
        kind.code,
        upload.name or "CSV",
        str(limits.rows),
        str(limits.columns),
        str(limits.cell_chars),
    ]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module; the file goes on stdin
            command, input=content, capture_output=True, timeout=SECONDS, cwd=settings.BASE_DIR, check=False
        )
    except subprocess.TimeoutExpired as exc:
        logger.warning("spreadsheet %r: reading stopped after %s s", upload.name, SECONDS)
        raise _too_costly() from exc
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace")[-2000:]
        # Killed by a signal (the Rust reader aborts when refused memory) or out of memory in Python: the file's fault.
        if done.returncode < 0 or done.returncode == 3 or "memory allocation" in stderr:
            logger.warning("spreadsheet %r: reading ended with %s: %s", upload.name, done.returncode, stderr)
            raise _too_costly()
        raise RuntimeError(f"the spreadsheet reader failed ({done.returncode}): {stderr}")
    answer = json.loads(done.stdout)
    if "error" in answer:
        error = answer["error"]
        raise ValidationError(_(error["message"]), code=error["code"], params=error["params"] or None)
    sheets = [Sheet(s["name"], [(n, [_decode(v) for v in cells]) for n, cells in s["rows"]]) for s in answer["sheets"]]
    return Workbook(sheets, delimiter=answer["delimiter"])


def _encode(value):
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if isinstance(value, datetime.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"d": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"tm": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"td": value.total_seconds()}
    return str(value)


_DECODERS = {
    "n": Decimal,
    "dt": datetime.datetime.fromisoformat,
    "d": datetime.date.fromisoformat,
    "tm": datetime.time.fromisoformat,
    "td": lambda seconds: datetime.timedelta(seconds=seconds),
}


def _decode(value):
    if isinstance(value, dict):
        ((tag, text),) = value.items()
        return _DECODERS[tag](text)
    return value


def _bound() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (SECONDS + 5, SECONDS + 5))


def main(argv: list[str]) -> int:
    """The child: read the file on stdin, write {"sheets", "delimiter"} or {"error"} as JSON on stdout."""
    _bound()
    settings.configure(USE_I18N=False)  # messages go back as their ids; the parent translates them
    from ecopark.spreadsheet import Limits, read_here

    code, name, rows, columns, cell_chars = argv
    kind = {XLSX.code: XLSX, CSV.code: CSV}[code]
    upload = io.BytesIO(sys.stdin.buffer.read())
    upload.name = name
    try:
        workbook = read_here(upload, kind, Limits(rows=int(rows), columns=int(columns), cell_chars=int(cell_chars)))
        text = 0
        sheets = []
        for sheet in workbook.sheets:
            encoded = []
            for number, cells in sheet.rows:
                text += sum(len(v) for v in cells if isinstance(v, str))
                if text > MAX_TEXT_CHARS:
                    raise _too_costly()
                encoded.append((number, [_encode(v) for v in cells]))
            sheets.append({"name": sheet.name, "rows": encoded})
        answer = {"sheets": sheets, "delimiter": workbook.delimiter}
    except ValidationError as error:
        answer = {"error": {"message": str(error.message), "code": error.code, "params": error.params or {}}}
    except MemoryError:
        return 3
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
