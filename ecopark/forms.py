"""Form helpers shared by the apps' pages."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import get_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def add_service_errors(form: forms.Form, error: ValidationError, *, fields_by_code: dict | None = None) -> None:
    """Show a service's ValidationError on the form: on the field it names (or that its code points to, through
    `fields_by_code`) when the form has that field, otherwise above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return
    for item in error.error_list:
        field = (fields_by_code or {}).get(item.code)
        form.add_error(field if field in form.fields else None, item)


# Besides the language's own thousands separator, a person may group thousands with a space (or the no-break spaces
# that copying a formatted figure brings along).
SPACES = (" ", "\u00a0", "\u202f")
MINUS_SIGNS = ("-", "\u2212")
_EXPONENT = re.compile(r"\d[eE][+-]?\d")
SEPARATOR_NAMES = {".": gettext_lazy("a point"), ",": gettext_lazy("a comma")}
_GROUPED = re.compile(r"\d{1,3}(?:[\x00]\d{3})+")  # \x00 stands for any thousands separator, after normalising


def parse_number(text: str, *, decimal: str, group: str) -> Decimal | None:
    """The number `text` writes with `decimal` before the decimals and `group` (or a space) between thousands, or
    None when it cannot be written so: every group after the first holds exactly three digits."""
    text = text.strip()
    sign = ""
    if text[:1] in (*MINUS_SIGNS, "+"):
        sign, text = ("-" if text[0] in MINUS_SIGNS else ""), text[1:].lstrip()
    whole, _, decimals = text.partition(decimal)
    if (decimals and not decimals.isdigit()) or not (whole or decimals):
        return None
    for separator in (group, *SPACES):
        whole = whole.replace(separator, "\x00")
    if "\x00" in whole and not _GROUPED.fullmatch(whole):
        return None
    whole = whole.replace("\x00", "")
    if whole and not (whole.isascii() and whole.isdigit()):
        return None
    if not decimals.isascii():
        return None
    try:
        return Decimal(f"{sign}{whole or '0'}.{decimals or '0'}")
    except InvalidOperation:  # pragma: no cover - only digits reach here
        return None


class LocalizedDecimalField(forms.DecimalField):
    """A number typed as the page's language writes it (1,234.5 in English, 1.234,5 in Vietnamese; a space between
    thousands in both). Separators the language cannot mean, such as English "1,5" (is it 1.5 or 15?), are refused
    with the form expected, instead of being read as another number."""

    def __init__(self, **kwargs):
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)

    def to_python(self, value):
        if not isinstance(value, str) or value.strip() in self.empty_values or not self.localize:
            return super().to_python(value)
        decimal, group = get_format("DECIMAL_SEPARATOR"), get_format("THOUSAND_SEPARATOR")
        number = parse_number(value, decimal=decimal, group=group)
        if number is not None:
            return number
        raise ValidationError(self.invalid_message(value, decimal=decimal, group=group), code="invalid")

    @classmethod
    def invalid_message(cls, value: str, *, decimal: str, group: str) -> str:
        """What to type instead: the number in the language's form when it is clear what was meant (written with the
        other language's separators), otherwise which separator goes where."""
        if _EXPONENT.search(value):
            plain = value.strip().replace(" ", "").replace(group, "").replace(decimal, ".")
            try:
                written = number_format(Decimal(plain), force_grouping=True)
            except (ArithmeticError, ValueError):
                return _("Write the number in full, without an exponent.")
            return _("Write the number in full, without an exponent: %(example)s.") % {"example": written}
        meant = parse_number(value, decimal=group, group=decimal) if {decimal, group} == {".", ","} else None
        if meant is not None and decimal not in value and value.count(group) == 1:
            return _("Use %(decimal)s for decimals: %(example)s.") % {
                "decimal": SEPARATOR_NAMES.get(decimal, decimal),
                "example": number_format(meant, force_grouping=True),
            }
        hint = _("Write it as %(example)s: %(group)s (or a space) between thousands, %(decimal)s for decimals.") % {
            "example": number_format(meant if meant is not None else Decimal("1234.5"), force_grouping=True),
            "group": SEPARATOR_NAMES.get(group, group),
            "decimal": SEPARATOR_NAMES.get(decimal, decimal),
        }
        return f"{cls.default_error_messages['invalid']} {hint}"
