"""Filtering and ordering of every API list (django-filter, DRF's ordering), strict: a known parameter with a value
that cannot be read answers 400 naming it, never a list filtered as if it had not been sent. Unknown parameters
are ignored."""

import datetime

import django_filters
from django import forms
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters
from rest_framework.exceptions import ValidationError

# Times a filter accepts: the register's changes are all after 1970, and a year past 2100 is a typing error. Real UTC
# offsets run from -12:00 to +14:00 (PostgreSQL refuses beyond ±15:59, which was a server error).
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100
OFFSET_RANGE = (datetime.timedelta(hours=-12), datetime.timedelta(hours=14))


class StrictBooleanField(forms.Field):
    """true or false (also 1 or 0); anything else is an error, not "no filter" as Django's NullBooleanField has it."""

    default_error_messages = {"invalid": gettext_lazy("Enter true or false.")}
    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class IntegerFilter(django_filters.NumberFilter):
    """A whole number within the column's range (1.5 or 10^30 is an error, not an empty list)."""

    field_class = forms.IntegerField


class TimestampField(IsoDateTimeField):
    """An ISO 8601 time with a real UTC offset and a year between EARLIEST_YEAR and LATEST_YEAR, read in UTC."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        offset = moment.utcoffset()
        if offset is not None and not OFFSET_RANGE[0] <= offset <= OFFSET_RANGE[1]:
            raise forms.ValidationError(_("The time zone offset must be between -12:00 and +14:00."), code="offset")
        if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise forms.ValidationError(
                _("The year must be between %(earliest)s and %(latest)s.")
                % {"earliest": EARLIEST_YEAR, "latest": LATEST_YEAR},
                code="year",
            )
        return moment.astimezone(datetime.UTC) if timezone.is_aware(moment) else moment


class TimestampFilter(django_filters.IsoDateTimeFilter):
    field_class = TimestampField


def _integer_range(field: models.Field) -> dict:
    low, high = BaseDatabaseOperations.integer_field_ranges.get(field.get_internal_type(), (None, None))
    return {"min_value": low, "max_value": high}


_INTEGERS = (
    models.SmallIntegerField, models.IntegerField, models.BigIntegerField, models.PositiveSmallIntegerField,
    models.PositiveIntegerField, models.PositiveBigIntegerField, models.AutoField, models.BigAutoField,
)  # fmt: skip


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet whose filters made from model fields read their values strictly (see the module's docstring)."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
        models.DateTimeField: {"filter_class": TimestampFilter},
        **{field: {"filter_class": IntegerFilter, "extra": _integer_range} for field in _INTEGERS},
    }


class FilterBackend(DjangoFilterBackend):
    """django-filter, skipped when the request names none of the list's filters: building and validating the
    filter form was a tenth of a plain page's time, and with no filter it changes nothing."""

    filterset_base = StrictFilterSet

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not set(request.query_params) & set(filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)


class OrderingFilter(filters.OrderingFilter):
    """DRF's ordering, with a field that cannot be ordered by refused (400) instead of dropped; documented as the list
    of fields each list may be ordered by."""

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = {item[0] for item in self.get_valid_fields(queryset, view, {"request": request})}
        terms = [term for term in fields if term]
        unknown = [term for term in terms if term.removeprefix("-") not in valid]
        if unknown:
            raise ValidationError({self.ordering_param: [
                _("Cannot order by %(fields)s; choose among %(valid)s, with a leading - for descending order.")
                % {"fields": ", ".join(unknown), "valid": ", ".join(sorted(valid))}
            ]})  # fmt: skip
        return terms

    def get_schema_operation_parameters(self, view):
        fields = list(getattr(view, "ordering_fields", None) or [])
        if not fields:
            return super().get_schema_operation_parameters(view)
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Fields to order by, separated by commas; a leading - for descending order.",
                "schema": {"type": "array", "items": {"type": "string", "enum": [*fields, *(f"-{f}" for f in fields)]}},
                "style": "form",
                "explode": False,
            }
        ]
