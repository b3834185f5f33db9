"""The forms of the measure pages: a measure (RECP or exchange), its savings and flows as rows, and status steps.

Forms check the shape of what was typed (numbers, dates, choices within the user's scope); the measure services
check the domain (units per resource, plausible quantities, the lifecycle) and are called by the views, so the
pages, the API and imports share one source of truth. Line checks call the services' own line builders.
"""

import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enterprises.selectors import enterprises_visible_to, organisations_visible_to
from measures.models import SINK_FIELDS, SOURCE_FIELDS, Measure, Resource, ResourceFlow
from measures.services import FlowInput, SavingInput, flow_line, saving_line
from measures.units import UNIT_CHOICES, units_for
from parks.selectors import parks_visible_to

DATE_PLACEHOLDER = gettext_lazy("dd/mm/yyyy")
PARTY_KINDS = ("enterprise", "park", "organisation")


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has it, otherwise on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


class DateField(forms.DateField):
    """A date typed as the language writes it (dd/mm/yyyy in Vietnamese), with a hint of the format."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"placeholder": DATE_PLACEHOLDER, "inputmode": "numeric"}))
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)


class ResourceSelect(forms.Select):
    """Each resource carries the units it may be entered in, so the page offers only those."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        resource = getattr(value, "instance", None)
        if resource is not None:
            units = units_for(resource.canonical_unit, has_density=bool(resource.density_t_per_m3))
            option["attrs"]["data-units"] = " ".join(units)
        return option


class ResourceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, resource):
        return resource.name


class LineForm(forms.Form):
    """A row of quantities: a resource, an annual quantity and its unit."""

    resource = ResourceChoiceField(
        queryset=Resource.objects.all(), label=gettext_lazy("Resource"), widget=ResourceSelect
    )
    quantity = forms.DecimalField(
        label=gettext_lazy("Quantity per year"), max_digits=18, decimal_places=4, localize=True
    )
    unit = forms.ChoiceField(label=gettext_lazy("Unit"), choices=UNIT_CHOICES)

    def _attach(self, error: ValidationError) -> None:
        field = {"unit": "unit", "negative": "quantity", "not_positive": "quantity", "implausible": "quantity"}
        self.add_error(field.get(error.code), error)


class SavingForm(LineForm):
    verified_quantity = forms.DecimalField(
        label=gettext_lazy("Verified quantity per year"),
        max_digits=18,
        decimal_places=4,
        localize=True,
        required=False,
    )

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("resource") is not None:
            try:  # the service's own check of a line (units, sign, plausibility)
                line = SavingInput(data["resource"], data["quantity"], data["unit"], data.get("verified_quantity"))
                saving_line(Measure(), line)
            except ValidationError as error:
                self._attach(error)
        return data

    def to_input(self) -> SavingInput:
        data = self.cleaned_data
        return SavingInput(data["resource"], data["quantity"], data["unit"], data.get("verified_quantity"))


class FlowForm(LineForm):
    direction = forms.ChoiceField(
        label=gettext_lazy("Direction"), choices=ResourceFlow.Direction.choices, initial=ResourceFlow.Direction.FORWARD
    )

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("resource") is not None:
            try:
                flow_line(Measure(), FlowInput(data["resource"], data["quantity"], data["unit"], data["direction"]))
            except ValidationError as error:
                self._attach(error)
        return data

    def to_input(self) -> FlowInput:
        data = self.cleaned_data
        return FlowInput(data["resource"], data["quantity"], data["unit"], data["direction"])


SavingFormSet = forms.formset_factory(SavingForm, extra=0, can_delete=True, max_num=30, validate_max=True)
FlowFormSet = forms.formset_factory(FlowForm, extra=0, can_delete=True, max_num=30, validate_max=True)


def lines_of(formset) -> list:
    """The rows kept (not removed, not left blank) as service inputs."""
    return [
        form.to_input()
        for form in formset.forms
        if form.has_changed() and not (formset.can_delete and formset._should_delete_form(form))
    ]


class PartyField(forms.ChoiceField):
    """The source or sink of an exchange: an enterprise, a park (its shared services) or an outside organisation."""

    def __init__(self, *, user, **kwargs):
        enterprises = list(enterprises_visible_to(user).order_by("park__name_vi", "name"))
        parks = list(parks_visible_to(user))
        organisations = list(organisations_visible_to(user))
        self.objects = {
            **{f"enterprise:{e.pk}": e for e in enterprises},
            **{f"park:{p.pk}": p for p in parks},
            **{f"organisation:{o.pk}": o for o in organisations},
        }
        groups = [
            (_("Enterprises"), [(f"enterprise:{e.pk}", f"{e.name} ({e.park.name})") for e in enterprises]),
            (_("Industrial parks"), [(f"park:{p.pk}", p.name) for p in parks]),
            (_("Outside organisations"), [(f"organisation:{o.pk}", o.name) for o in organisations]),
        ]
        super().__init__(choices=[("", "---------"), *groups], **kwargs)


def party_value(measure: Measure, fields: tuple[str, ...]) -> str:
    for field, kind in zip(fields, PARTY_KINDS, strict=True):
        pk = getattr(measure, f"{field}_id")
        if pk is not None:
            return f"{kind}:{pk}"
    return ""


class MeasureForm(forms.ModelForm):
    """What a person types about a measure; status and figures are not typed here."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    editing_since = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    COMMON = [
        "reference", "title_vi", "title_en", "description_vi", "description_en", "identified_on", "estimate_year",
        "investment", "investment_currency", "annual_cost_saving", "cost_currency",
        "co2e_entered_t", "co2e_method", "co2e_justification",
    ]  # fmt: skip

    class Meta:
        model = Measure
        fields: list[str] = []
        localized_fields = "__all__"
        field_classes = {"identified_on": DateField}
        widgets = {
            "description_vi": forms.Textarea(attrs={"rows": 3}),
            "description_en": forms.Textarea(attrs={"rows": 3}),
            "co2e_justification": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["reference"].required = False
        self.fields["reference"].help_text = _("Leave empty to number it in its park, e.g. dinh-vu-0042.")
        if self.instance.pk is not None:
            self.fields["reference"].disabled = True
            self.fields["reference"].help_text = ""
            self.initial.setdefault("version", self.instance.version)
        self.initial.setdefault("editing_since", timezone.now())
        if self.instance.pk is None:
            self.initial.setdefault("identified_on", datetime.date.today())
            self.initial.setdefault("estimate_year", datetime.date.today().year)
        self.fields["estimate_year"].localize = False
        self.fields["estimate_year"].widget.is_localized = False

    def clean_reference(self):
        return self.instance.reference if self.instance.pk is not None else self.cleaned_data["reference"]


class RecpMeasureForm(MeasureForm):
    class Meta(MeasureForm.Meta):
        fields = ["enterprise", "technique", *MeasureForm.COMMON]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["enterprise"].queryset = enterprises_visible_to(user).order_by("park__name_vi", "name")
        self.fields["enterprise"].required = True
        self.fields["technique"].required = True
        self.instance.kind = Measure.Kind.RECP

    def clean(self):
        data = super().clean()
        enterprise = data.get("enterprise")
        if enterprise is not None:
            self.instance.park_id = enterprise.park_id
        return data


class ExchangeForm(MeasureForm):
    """A symbiosis exchange: a source, a sink and the park whose totals count it."""

    class Meta(MeasureForm.Meta):
        fields = ["park", "exchange_type", *MeasureForm.COMMON]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.instance.kind = Measure.Kind.IS
        self.fields["park"].queryset = parks_visible_to(user)
        self.fields["park"].help_text = _("The park whose totals count the exchange (counted once).")
        self.fields["exchange_type"].required = True
        self.fields["source"] = PartyField(user=user, label=_("Source (gives)"))
        self.fields["sink"] = PartyField(user=user, label=_("Sink (receives)"))
        self.order_fields(["park", "exchange_type", "source", "sink", *MeasureForm.COMMON])
        if self.instance.pk is not None:
            self.initial.setdefault("source", party_value(self.instance, SOURCE_FIELDS))
            self.initial.setdefault("sink", party_value(self.instance, SINK_FIELDS))

    def clean(self):
        data = super().clean()
        source, sink = data.get("source"), data.get("sink")
        if source and sink and source == sink:
            self.add_error("sink", _("The sink must be another party than the source."))
        self.parties = {}
        for name, fields in (("source", SOURCE_FIELDS), ("sink", SINK_FIELDS)):
            value = data.get(name)
            if value:
                kind = value.split(":")[0]
                for field, party in zip(fields, PARTY_KINDS, strict=True):
                    chosen = self.fields[name].objects[value] if party == kind else None
                    self.parties[field] = chosen
                    setattr(self.instance, field, chosen)
        return data


class TransitionForm(forms.Form):
    """A step of the lifecycle: the date it took effect, the reason (to reject or withdraw), and for verification the
    measured values with the evidence behind them."""

    effective_on = DateField(label=gettext_lazy("Effective on"))
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                             max_length=2000)  # fmt: skip
    evidence = forms.FileField(
        label=gettext_lazy("Evidence (PDF, image or spreadsheet)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.xlsx,.csv"}),
    )

    def __init__(self, *args, measure: Measure, to_status: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure = measure
        self.to_status = to_status
        self.initial.setdefault("effective_on", datetime.date.today())
        if to_status in Measure.CLOSED_STATUSES:
            self.fields["reason"].required = True
        self.savings = []
        if to_status == Measure.Status.VERIFIED:
            self.fields["evidence"].required = True
            for saving in measure.savings.select_related("resource"):
                name = f"verified_{saving.pk}"
                self.fields[name] = forms.DecimalField(
                    label=_("Measured %(resource)s per year (%(unit)s)")
                    % {"resource": saving.resource.name, "unit": saving.unit},
                    max_digits=18,
                    decimal_places=4,
                    localize=True,
                    help_text=_("Estimated: %(quantity)s %(unit)s")
                    % {
                        "quantity": number_format(saving.quantity.normalize(), force_grouping=True),
                        "unit": saving.unit,
                    },
                )
                self.savings.append((saving, name))
        else:
            del self.fields["evidence"]

    def verified(self) -> dict[int, Decimal]:
        return {saving.pk: self.cleaned_data[name] for saving, name in self.savings}
