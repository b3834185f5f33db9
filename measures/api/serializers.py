"""Measures as the API shows them, and the input of writes, which go through the measure services.

The list uses a lean serializer (no nested lines: a page of 500 stays a fixed number of queries and fast); the
detail adds the savings, flows, CO2e trail and status history.
"""

from decimal import Decimal

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ecopark.api.fast import FastRepresentation
from ecopark.api.fields import ScopedPrimaryKeyField, ScopedSlugField, withholds_confidential
from enterprises.selectors import enterprises_visible_to, organisations_visible_to
from measures.models import (
    Co2eTrailLine,
    EmissionFactor,
    ExchangeRate,
    Measure,
    MeasureSaving,
    Resource,
    ResourceFlow,
    StatusChange,
)
from measures.services import (
    EDITABLE_FIELDS,
    FlowInput,
    SavingInput,
    allowed_transitions,
    measure_create,
    measure_update,
)
from measures.units import UNIT_CHOICES
from parks.selectors import parks_visible_to

# What partners do not see of a measure unless every enterprise taking part consented.
CONFIDENTIAL_FIELDS = ("enterprise_name", "investment", "annual_cost_saving", "cost_usd", "cost_vnd")
FIGURE_FIELDS = [
    "reference_year", "electricity_kwh", "water_m3", "cost_usd", "cost_vnd", "co2e_t", "co2e_computed_t",
    "co2e_biogenic_t", "electricity_kwh_verified", "water_m3_verified", "co2e_verified_t", "figures_note",
]  # fmt: skip
LIST_RELATED = ["park", "enterprise", "source_enterprise", "sink_enterprise", "source_park", "sink_park"]


def quantity_field(**kwargs) -> serializers.DecimalField:
    """A quantity as sent: any number of decimals, so that the services refuse one finer than the 4 decimals kept
    with their message (DRF's would come first); bounded, so that no absurd magnitude reaches the unit conversion."""
    return serializers.DecimalField(
        max_digits=None, decimal_places=None, max_value=Decimal("1e14"), min_value=Decimal("-1e14"), **kwargs
    )


class SavingSerializer(serializers.ModelSerializer):
    resource = serializers.SlugRelatedField(slug_field="code", queryset=Resource.objects.all())
    quantity = quantity_field(help_text="Per year, in `unit`; up to 4 decimals are kept.")
    verified_quantity = quantity_field(required=False, allow_null=True, help_text="Measured, per year, in `unit`.")
    unit = serializers.ChoiceField(choices=UNIT_CHOICES)
    canonical_unit = serializers.CharField(source="resource.canonical_unit", read_only=True)
    negative_confirmed = serializers.BooleanField(
        source="is_increase",
        required=False,
        default=False,
        help_text="True for a negative saving (the measure increases use). Required to send a negative quantity, "
        "where the resource allows one (allows_negative_saving); read back as true, so a saving read and sent back "
        "unchanged keeps it.",
    )

    class Meta:
        model = MeasureSaving
        fields = [
            "resource", "quantity", "unit", "quantity_canonical", "canonical_unit",
            "verified_quantity", "verified_quantity_canonical", "negative_confirmed",
        ]  # fmt: skip
        read_only_fields = ["quantity_canonical", "verified_quantity_canonical"]


def _saving_input(line: dict) -> SavingInput:
    """A saving as posted, for the services (`negative_confirmed` arrives under its source name)."""
    line = dict(line)
    confirmed = bool(line.pop("is_increase", False))
    return SavingInput(**line, negative_confirmed=confirmed)


class FlowSerializer(serializers.ModelSerializer):
    resource = serializers.SlugRelatedField(slug_field="code", queryset=Resource.objects.all())
    quantity = quantity_field(help_text="Per year, in `unit`; up to 4 decimals are kept.")
    unit = serializers.ChoiceField(choices=UNIT_CHOICES)
    canonical_unit = serializers.CharField(source="resource.canonical_unit", read_only=True)

    class Meta:
        model = ResourceFlow
        fields = ["resource", "quantity", "unit", "quantity_canonical", "canonical_unit", "direction"]
        read_only_fields = ["quantity_canonical"]


class TrailSerializer(serializers.ModelSerializer):
    resource = serializers.SlugRelatedField(slug_field="code", read_only=True)
    factor_source = serializers.CharField(source="factor.source", read_only=True)
    factor_year = serializers.IntegerField(source="factor.year", read_only=True, allow_null=True)

    class Meta:
        model = Co2eTrailLine
        fields = [
            "resource", "entered_quantity", "entered_unit", "density_t_per_m3", "density_source",
            "quantity", "unit", "factor", "factor_value", "factor_unit", "factor_year", "factor_source",
            "basis", "result_t", "note",
        ]  # fmt: skip


class StatusChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = StatusChange
        fields = ["from_status", "to_status", "effective_on", "reason", "changed_by", "changed_at"]


class MeasureListSerializer(FastRepresentation, serializers.ModelSerializer):
    """A measure without its lines: what a page of the list shows (read with the fast path: pages of 500)."""

    park = ScopedSlugField(selector=parks_visible_to, required=False, help_text="Park code (RECP: the enterprise's).")
    enterprise = ScopedSlugField(
        selector=enterprises_visible_to, required=False, allow_null=True, help_text="Enterprise code (RECP)."
    )
    enterprise_name = serializers.CharField(source="enterprise.name", read_only=True, allow_null=True, default=None)
    source_enterprise = ScopedSlugField(selector=enterprises_visible_to, required=False, allow_null=True)
    sink_enterprise = ScopedSlugField(selector=enterprises_visible_to, required=False, allow_null=True)
    source_park = ScopedSlugField(selector=parks_visible_to, required=False, allow_null=True)
    sink_park = ScopedSlugField(selector=parks_visible_to, required=False, allow_null=True)
    source_organisation = ScopedPrimaryKeyField(selector=organisations_visible_to, required=False, allow_null=True)
    sink_organisation = ScopedPrimaryKeyField(selector=organisations_visible_to, required=False, allow_null=True)
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="On a change: the version you read. If someone saved the measure since, the change is refused (409).",
    )
    withheld = serializers.SerializerMethodField(help_text="Fields withheld because an enterprise did not consent.")

    class Meta:
        model = Measure
        fields = [
            "id", "reference", "kind", "park", "enterprise", "enterprise_name", "technique", "exchange_type",
            "source_enterprise", "source_park", "source_organisation",
            "sink_enterprise", "sink_park", "sink_organisation",
            "title_vi", "title_en", "status", "status_reason", "identified_on", "estimate_year", "implemented_on",
            "verified_on", "investment", "investment_currency", "annual_cost_saving", "cost_currency",
            "co2e_entered_t", "co2e_method", "co2e_justification", *FIGURE_FIELDS, "version", "created_at",
            "updated_at", "withheld",
        ]  # fmt: skip
        read_only_fields = ["status", "status_reason", "implemented_on", "verified_on", "created_at", "updated_at"]
        validators = []  # the services validate (one source of truth with the forms)

    def _withholds(self, measure: Measure) -> bool:
        # Asked once per request, not per row: the context is shared by the rows of a page.
        if "withholds" not in self.context:
            self.context["withholds"] = withholds_confidential(self.context["request"])
        if not self.context["withholds"]:
            return False
        parties = (measure.enterprise, measure.source_enterprise, measure.sink_enterprise)
        return any(party is not None and not party.partner_consent for party in parties)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_withheld(self, measure) -> list[str]:
        return list(CONFIDENTIAL_FIELDS) if self._withholds(measure) else []

    def to_representation(self, measure):
        data = super().to_representation(measure)
        if data["withheld"]:
            for field in CONFIDENTIAL_FIELDS:
                data[field] = None
        return data


class MeasureSerializer(MeasureListSerializer):
    """A measure with its savings, flows, CO2e trail and status history; writes go through the services."""

    savings = SavingSerializer(many=True, required=False, help_text="Annual savings; on a change, replaces them all.")
    flows = FlowSerializer(many=True, required=False, help_text="Exchanged flows (IS); on a change, replaces them all.")
    co2e_trail = TrailSerializer(many=True, read_only=True)
    status_history = StatusChangeSerializer(source="status_changes", many=True, read_only=True)
    allowed_transitions = serializers.SerializerMethodField()

    class Meta(MeasureListSerializer.Meta):
        fields = [
            *MeasureListSerializer.Meta.fields, "description_vi", "description_en", "savings", "flows",
            "co2e_trail", "status_history", "allowed_transitions",
        ]  # fmt: skip

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Measure.Status.choices)))
    def get_allowed_transitions(self, measure) -> list[str]:
        return [str(s) for s in allowed_transitions(measure.status)]

    def _lines(self, validated_data):
        savings = validated_data.pop("savings", None)
        flows = validated_data.pop("flows", None)
        saving_inputs = None if savings is None else [_saving_input(line) for line in savings]
        flow_inputs = None if flows is None else [FlowInput(**line) for line in flows]
        return saving_inputs, flow_inputs

    @transaction.atomic
    def create(self, validated_data):
        validated_data.pop("version", None)
        savings, flows = self._lines(validated_data)
        measure = Measure(**validated_data)
        return measure_create(
            measure=measure, savings=savings or [], flows=flows, created_by=self.context["request"].user
        )

    def update(self, measure, validated_data):
        expected = validated_data.pop("version", None)
        savings, flows = self._lines(validated_data)
        changes = {k: v for k, v in validated_data.items() if k in EDITABLE_FIELDS}
        return measure_update(
            measure_id=measure.pk,
            changes=changes,
            savings=savings,
            flows=flows,
            expected_version=expected,
            changed_by=self.context["request"].user,
        )


class TransitionSerializer(serializers.Serializer):
    """A step of the lifecycle: to which status, from when, and why (required to reject or withdraw)."""

    to_status = serializers.ChoiceField(choices=Measure.Status.choices)
    effective_on = serializers.DateField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ResourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Resource
        fields = ["id", "code", "name_vi", "name_en", "category", "canonical_unit", "density_t_per_m3",
                  "density_source", "allows_negative_saving"]  # fmt: skip


class EmissionFactorSerializer(serializers.ModelSerializer):
    resource = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = EmissionFactor
        fields = ["id", "resource", "region", "year", "value", "per_unit", "basis", "kg_co2_per_tj", "ncv_tj_per_gg",
                  "source", "is_official", "note"]  # fmt: skip


class ExchangeRateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "year", "vnd_per_unit", "source", "is_official"]
