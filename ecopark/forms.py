"""Form helpers shared by the apps' pages."""

from django import forms
from django.core.exceptions import ValidationError


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
