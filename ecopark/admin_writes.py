"""Admin pages that write through the services: the admin keeps its forms, the services do the writing."""

from django.contrib import admin
from django.core.exceptions import ValidationError

from ecopark.forms import add_service_errors


class ServiceAdmin(admin.ModelAdmin):
    """A model admin whose saves call services. A service's ValidationError rolls the admin's transaction back, and
    the page is shown again with the posted values and the service's reasons on the form, as a form error would be."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            if request.method != "POST" or hasattr(request, "_service_refusal"):
                raise
            request._service_refusal = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form

        class RefusedForm(form):
            def clean(self):
                cleaned = super().clean()
                add_service_errors(self, refusal)
                return cleaned

        RefusedForm.__name__ = form.__name__
        return RefusedForm
