"""The forms of the measure pages: a measure (RECP or exchange), its savings and flows as rows, and status steps.

Forms check the shape of what was typed (numbers, dates, choices within the user's scope); the measure services
check the domain (units per resource, plausible quantities, the lifecycle) and are called by the views, so the
pages, the API and imports share one source of truth. Line checks call the services' own line builders.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecopark.forms import LocalizedDecimalField, add_service_errors
from enterprises.selectors import enterprises_visible_to, organisations_visible_to
from measures.models import SINK_FIELDS, SOURCE_FIELDS, Measure, Resource, ResourceFlow
from measures.services import FlowInput, SavingInput, flow_line, saving_line
from measures.units import UNIT_CHOICES, units_for
from parks.selectors import parks_visible_to

DATE_PLACEHOLDER = gettext_lazy("dd/mm/yyyy")
PARTY_KINDS = ("enterprise", "park", "organisation")


class DateField(forms.DateField):
    """A date typed as the language writes it (dd/mm/yyyy in Vietnamese), with a hint of the format."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"placeholder": DATE_PLACEHOLDER, "inputmode": "numeric"}))
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)


class ResourceSelect(forms.Select):
    """Each resource carries the units it may be entered in, and whether its saving may be negative, so the page
    offers only those units and the confirmation of a negative saving only where it applies."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        resource = getattr(value, "instance", None)
        if resource is not None:
            units = units_for(resource.canonical_unit, has_density=bool(resource.density_t_per_m3))
            option["attrs"]["data-units"] = " ".join(units)
            if resource.allows_negative_saving:
                option["attrs"]["data-allows-negative"] = ""
        return option


class ResourceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, resource):
        return resource.name


# Which field of a row a line builder's error belongs to, by the error's code.
LINE_ERRORS = {"unit": "unit", "negative": "quantity", "not_positive": "quantity", "implausible": "quantity",
               "negative_unconfirmed": "negative_confirmed"}  # fmt: skip


class LineForm(forms.Form):
    """A row of quantities: a resource, an annual quantity and its unit, checked by the service's own line builder
    (units, sign, plausibility)."""

    build_line = None  # the service function that checks and builds the row

    resource = ResourceChoiceField(
        queryset=Resource.objects.all(), label=gettext_lazy("Resource"), widget=ResourceSelect
    )
    quantity = LocalizedDecimalField(label=gettext_lazy("Quantity per year"), max_digits=18, decimal_places=4)
    unit = forms.ChoiceField(label=gettext_lazy("Unit"), choices=UNIT_CHOICES)

    def has_changed(self) -> bool:
        """A row with neither a resource nor a quantity is a blank row, whatever its unit and direction say (their
        selects always send a value)."""
        if self.is_bound and not any(self.data.get(self.add_prefix(name)) for name in ("resource", "quantity")):
            return False
        return super().has_changed()

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("resource") is not None:
            try:
                type(self).build_line(Measure(), self.to_input())
            except ValidationError as error:
                add_service_errors(self, self.explain(error), fields_by_code=LINE_ERRORS)
        return data

    def explain(self, error: ValidationError) -> ValidationError:
        """The service's error as the page words it (a page may name its own controls)."""
        return error


class SavingForm(LineForm):
    build_line = saving_line
    verified_quantity = LocalizedDecimalField(
        label=gettext_lazy("Verified quantity per year"), max_digits=18, decimal_places=4, required=False
    )
    negative_confirmed = forms.BooleanField(
        label=gettext_lazy("I confirm this saving is negative (the measure increases use)"),
        required=False,
    )

    def explain(self, error: ValidationError) -> ValidationError:
        """A negative saving refused, said in the page's terms: which resources may have one at all, and which box
        to tick (the service's words serve the API and imports too, which have no box)."""
        if hasattr(error, "error_dict"):
            return error
        return ValidationError([self._negative_message(item) or item for item in error.error_list])

    def _negative_message(self, item: ValidationError) -> ValidationError | None:
        name = self.cleaned_data["resource"].name
        if item.code == "negative_unconfirmed":
            return ValidationError(
                _(
                    "%(resource)s: a negative quantity means the measure increases its use. If that is right, tick "
                    "the box “%(box)s”; otherwise remove the minus sign."
                )
                % {"resource": name, "box": self.fields["negative_confirmed"].label},
                code=item.code,
            )
        if item.code == "negative":
            allowed = ", ".join(r.name for r in Resource.objects.filter(allows_negative_saving=True))
            if not allowed:
                return ValidationError(
                    _("%(resource)s: a saving cannot be negative; no resource allows one. Remove the minus sign.")
                    % {"resource": name},
                    code=item.code,
                )
            return ValidationError(
                _(
                    "%(resource)s: a saving cannot be negative. Negative savings, where the measure increases use, "
                    "are only for resources that allow them: %(allowed)s. Remove the minus sign."
                )
                % {"resource": name, "allowed": allowed},
                code=item.code,
            )
        return None

    def to_input(self) -> SavingInput:
        data = self.cleaned_data
        return SavingInput(
            data["resource"],
            data["quantity"],
            data["unit"],
            data.get("verified_quantity"),
            negative_confirmed=bool(data.get("negative_confirmed")),
        )


class FlowForm(LineForm):
    build_line = flow_line
    direction = forms.ChoiceField(
        label=gettext_lazy("Direction"), choices=ResourceFlow.Direction.choices, initial=ResourceFlow.Direction.FORWARD
    )

    def to_input(self) -> FlowInput:
        data = self.cleaned_data
        return FlowInput(data["resource"], data["quantity"], data["unit"], data["direction"])


SavingFormSet = forms.formset_factory(SavingForm, extra=0, can_delete=True, max_num=30, validate_max=True)
FlowFormSet = forms.formset_factory(FlowForm, extra=0, can_delete=True, max_num=30, validate_max=True)


def lines_of(formset) -> list:
    """The rows kept as service inputs: every row the form was opened with (stored lines, changed or not) and every
    added row that was filled in, less the rows marked for removal."""
    removed = formset.deleted_forms
    stored = formset.initial_form_count()
    return [
        form.to_input()
        for index, form in enumerate(formset.forms)
        if (index < stored or form.has_changed()) and form not in removed
    ]


class Parties:
    """The parties a user may name as the source or sink of an exchange: enterprises, parks (their shared services)
    and outside organisations, read once for both fields."""

    def __init__(self, user):
        enterprises = list(enterprises_visible_to(user).order_by("park__name_vi", "name"))
        parks = list(parks_visible_to(user))
        organisations = list(organisations_visible_to(user))
        self.objects = {
            **{f"enterprise:{e.pk}": e for e in enterprises},
            **{f"park:{p.pk}": p for p in parks},
            **{f"organisation:{o.pk}": o for o in organisations},
        }
        self.choices = [
            ("", "---------"),
            (_("Enterprises"), [(f"enterprise:{e.pk}", f"{e.name} ({e.park.name})") for e in enterprises]),
            (_("Industrial parks"), [(f"park:{p.pk}", p.name) for p in parks]),
            (_("Outside organisations"), [(f"organisation:{o.pk}", o.name) for o in organisations]),
        ]


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
    # What the measure was when the form was opened (signed), so that a conflict can tell this person's changes
    # from someone else's.
    opened = forms.CharField(widget=forms.HiddenInput, required=False)

    COMMON = [
        "reference", "title_vi", "title_en", "description_vi", "description_en", "identified_on", "estimate_year",
        "investment", "investment_currency", "annual_cost_saving", "cost_currency",
        "co2e_entered_t", "co2e_method", "co2e_justification",
    ]  # fmt: skip

    class Meta:
        model = Measure
        fields: list[str] = []
        localized_fields = "__all__"
        field_classes = {
            "identified_on": DateField,
            "investment": LocalizedDecimalField,
            "annual_cost_saving": LocalizedDecimalField,
            "co2e_entered_t": LocalizedDecimalField,
        }
        widgets = {
            "description_vi": forms.Textarea(attrs={"rows": 3}),
            "description_en": forms.Textarea(attrs={"rows": 3}),
            "co2e_justification": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference"].required = False
        self.fields["reference"].help_text = _("Leave empty to number it in its park, e.g. dinh-vu-0042.")
        if self.instance.pk is not None:
            self.fields["reference"].disabled = True
            self.fields["reference"].help_text = ""
            self.initial.setdefault("version", self.instance.version)
        self.initial.setdefault("editing_since", timezone.now())
        if self.instance.pk is None:
            self.initial.setdefault("identified_on", timezone.localdate())
            self.initial.setdefault("estimate_year", timezone.localdate().year)
        self.fields["estimate_year"].localize = False
        self.fields["estimate_year"].widget.is_localized = False


class RecpMeasureForm(MeasureForm):
    class Meta(MeasureForm.Meta):
        fields = ["enterprise", "technique", *MeasureForm.COMMON]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["enterprise"].queryset = enterprises_visible_to(user).order_by("park__name_vi", "name")
        self.fields["enterprise"].required = True
        self.fields["technique"].required = True
        self.instance.kind = Measure.Kind.RECP  # the services put it in its enterprise's park


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
        self.parties = Parties(user)
        self.fields["source"] = forms.ChoiceField(label=_("Source (gives)"), choices=self.parties.choices)
        self.fields["sink"] = forms.ChoiceField(label=_("Sink (receives)"), choices=self.parties.choices)
        self.order_fields(["park", "exchange_type", "source", "sink", *MeasureForm.COMMON])
        if self.instance.pk is not None:
            self.initial.setdefault("source", party_value(self.instance, SOURCE_FIELDS))
            self.initial.setdefault("sink", party_value(self.instance, SINK_FIELDS))

    def clean(self):
        data = super().clean()
        source, sink = data.get("source"), data.get("sink")
        if source and sink and source == sink:
            self.add_error("sink", _("The sink must be another party than the source."))
        for name, fields in (("source", SOURCE_FIELDS), ("sink", SINK_FIELDS)):
            value = data.get(name)
            if value:
                kind = value.split(":")[0]
                for field, party in zip(fields, PARTY_KINDS, strict=True):
                    setattr(self.instance, field, self.parties.objects[value] if party == kind else None)
        return data

    def party_changes(self) -> dict:
        """The source and sink chosen, as the measure's six party fields (all but two empty)."""
        return {field: getattr(self.instance, field) for field in (*SOURCE_FIELDS, *SINK_FIELDS)}


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
        self.initial.setdefault("effective_on", timezone.localdate())
        if to_status in Measure.CLOSED_STATUSES:
            self.fields["reason"].required = True
        self.savings = []
        if to_status == Measure.Status.VERIFIED:
            self.fields["evidence"].required = True
            for saving in measure.savings.select_related("resource"):
                name = f"verified_{saving.pk}"
                self.fields[name] = LocalizedDecimalField(
                    label=_("Measured %(resource)s per year (%(unit)s)")
                    % {"resource": saving.resource.name, "unit": saving.unit},
                    max_digits=18,
                    decimal_places=4,
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
