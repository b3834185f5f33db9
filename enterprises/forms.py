"""The enterprise form: the park is chosen among those the user may see; the services validate and save."""

from django import forms

from enterprises.models import Enterprise
from parks.selectors import parks_visible_to


class EnterpriseForm(forms.ModelForm):
    class Meta:
        model = Enterprise
        fields = ["park", "code", "name", "sector_code", "size", "joined_programme", "partner_consent"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["park"].queryset = parks_visible_to(user)
