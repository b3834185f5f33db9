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


def looks_like_utf16(head: bytes) -> bool:
    """Text in UTF-16: a byte-order mark, or (without one) a zero in every other byte, as Latin text has."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    head = head[:400]
    return len(head) >= 8 and max(head[0::2].count(0), head[1::2].count(0)) * 10 >= len(head) // 2 * 8


def _is_text(upload) -> bool:
    """Text in some encoding (UTF-8, UTF-16 or a legacy one, which the CSV reader then names), with few control
    characters: a stray NUL byte still makes a text file, which the CSV reader refuses naming its row."""
    head = upload.read(64 * 1024)
    upload.seek(0)
    if looks_like_utf16(head):
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13))
    return controls <= len(head) // 100


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of Excel 97-2003 files and of encrypted XLSX files
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")


def _is_encrypted_office_file(upload) -> bool:
    """An OLE container holding an "EncryptionInfo" stream: an XLSX file saved with a password."""
    found = False
    tail = b""
    while chunk := upload.read(1 << 20):
        if ENCRYPTION_INFO in tail + chunk:
            found = True
            break
        tail = chunk[-len(ENCRYPTION_INFO) :]
    upload.seek(0)
    return found


def password_protected() -> ValidationError:
    return ValidationError(
        _(
            "The workbook is protected with a password, so it cannot be read. Open it in Excel, remove the password "
            "(File > Info > Protect Workbook > Encrypt with Password), save it and upload it again."
        ),
        code="encrypted",
    )


def _explain_refusal(upload, allowed: tuple[FileType, ...]) -> None:
    """Raise a message saying what to do for a workbook Excel can save as XLSX: one with a password, or an .xls."""
    if XLSX not in allowed:
        return
    upload.seek(0)
    head = upload.read(len(OLE))
    upload.seek(0)
    if head != OLE:
        return
    if _is_encrypted_office_file(upload):
        raise password_protected()
    raise ValidationError(
        _("This is an Excel 97-2003 workbook (.xls). Open it in Excel and save it as “Excel Workbook (.xlsx)”."),
        code="xls",
    )


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
    if head == OLE:  # mostly zeros, so it would pass for UTF-16 text
        return None
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
    if found is None:
        _explain_refusal(upload, allowed)
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
