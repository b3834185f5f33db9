"""Checks of uploaded files: the type is read from the content (never from the name or the browser's word), the size
is capped before anything is parsed, and the stored name is random."""

import uuid
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class FileType:
    """A kind of file we accept: its extensions, its media type and a test of its first bytes."""

    code: str
    extensions: tuple[str, ...]
    media_type: str


PDF = FileType("pdf", (".pdf",), "application/pdf")
PNG = FileType("png", (".png",), "image/png")
JPEG = FileType("jpeg", (".jpg", ".jpeg"), "image/jpeg")
XLSX = FileType("xlsx", (".xlsx",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
CSV = FileType("csv", (".csv",), "text/csv")

EVIDENCE_TYPES = (PDF, PNG, JPEG, XLSX, CSV)


def _is_xlsx(upload) -> bool:
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)
    return "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names)


def _is_text(upload) -> bool:
    """Text in some encoding (UTF-8 or a legacy one, which the CSV reader then names): no NUL bytes, few controls."""
    head = upload.read(64 * 1024)
    upload.seek(0)
    if b"\x00" in head:
        return False
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13))
    return controls <= len(head) // 100


def detect_type(upload) -> FileType | None:
    """What the file is, judged by its content."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return XLSX if _is_xlsx(upload) else None
    return CSV if head and _is_text(upload) else None


def check_upload(upload, *, allowed: tuple[FileType, ...], max_bytes: int) -> FileType:
    """The type of an acceptable upload; a file too large, empty, of another type, or named as another type is a
    ValidationError with a message for the user."""
    if upload.size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s; the largest accepted is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(max_bytes)},
            code="too_large",
        )
    if upload.size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    kinds = ", ".join(ext for kind in allowed for ext in kind.extensions)
    found = detect_type(upload)
    if found is None or found not in allowed:
        raise ValidationError(
            _("This file is not one of the accepted types (%(kinds)s).") % {"kinds": kinds}, code="type"
        )
    extension = PurePath(upload.name or "").suffix.lower()
    if extension not in found.extensions:
        raise ValidationError(
            _("The file's name ends in “%(extension)s” but its content is %(kind)s.")
            % {"extension": extension or "-", "kind": found.code.upper()},
            code="extension",
        )
    return found


def stored_name(kind: FileType) -> str:
    """A random file name: nothing of the uploader's file name reaches the disk."""
    return f"{uuid.uuid4().hex}{kind.extensions[0]}"
