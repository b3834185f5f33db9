"""Figures as the pages word them: a net saving below zero is an increase ("increase of 34.055"), not a negative
amount avoided."""

from decimal import Decimal

from django import template
from django.template.defaultfilters import floatformat
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


def _rounded(value, places: str) -> str:
    return floatformat(abs(Decimal(str(value))), places)


@register.filter
def is_increase(value, places: str = "-3g") -> bool:
    """Whether the figure, as shown with `places` (a floatformat argument), is below zero."""
    if value in (None, ""):
        return False
    return Decimal(str(value)) < 0 and any(digit in _rounded(value, places) for digit in "123456789")


@register.filter
def net_figure(value, places: str = "-3g"):
    """A saving as a number (floatformat `places`), or, below zero, as the increase it is, without a minus sign."""
    if value in (None, ""):
        return ""
    if is_increase(value, places):
        return format_html(
            '<span class="increase">{}</span>', _("increase of %(amount)s") % {"amount": _rounded(value, places)}
        )
    number = Decimal(str(value))
    return floatformat(abs(number) if number < 0 else number, places)  # below zero here: rounds to zero


@register.filter
def quantity(value, places: int = 4) -> str:
    """A quantity as the language writes it, grouped, to at most `places` decimals and without padded zeros
    ("1.234,5", not "1.234,5000")."""
    if value in (None, ""):
        return ""
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-int(places))).normalize()
    decimals = max(0, -number.as_tuple().exponent)
    return number_format(number.quantize(Decimal(1).scaleb(-decimals)), decimal_pos=decimals, force_grouping=True)


_SUPERSCRIPT = str.maketrans({"2": "²", "3": "³"})
_SUBSCRIPT = str.maketrans({"2": "₂"})


@register.filter
def unit(code) -> str:
    """A unit as people write it: "m3" reads "m³", "tCO2e/MWh" reads "tCO₂e/MWh" (the code stays as stored)."""
    if code in (None, ""):
        return ""
    text = str(code)
    text = text.replace("CO2", "CO2".translate(_SUBSCRIPT))
    return "".join(part.translate(_SUPERSCRIPT) if part in ("m2", "m3", "Nm3") else part
                   for part in _split_units(text))  # fmt: skip


def _split_units(text: str) -> list[str]:
    """`text` cut so that "m2"/"m3" stand alone where they are a unit ("m3", "t/m3"), not inside a word."""
    import re

    return re.split(r"(?<![A-Za-z])(N?m[23])(?![0-9A-Za-z])", text)
