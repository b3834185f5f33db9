"""Programme targets and roll-up rows as the API shows them."""

from django.utils.translation import gettext as _
from rest_framework import serializers

from measures.models import Measure
from reports.models import ProgrammeTarget, RollupRow
from reports.services import ALL

LEVELS = ["programme", "province", "park", "enterprise"]
KINDS = [ALL, *Measure.Kind.values]


class ProgrammeTargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProgrammeTarget
        fields = ["id", "indicator", "name_vi", "name_en", "value", "year", "source"]


class RollupQuerySerializer(serializers.Serializer):
    """Which roll-up rows: a level, optionally one scope, a kind, a technique, a stage and a year."""

    level = serializers.ChoiceField(choices=LEVELS, default="programme")
    id = serializers.IntegerField(
        required=False, min_value=1, help_text="The province, park or enterprise (required for enterprise)."
    )
    kind = serializers.ChoiceField(choices=KINDS, default=ALL, help_text="all, recp or is.")
    technique = serializers.ChoiceField(
        choices=["", *Measure.Technique.values], default="", help_text="A RECP technique (kind=recp); empty: all."
    )
    stage = serializers.ChoiceField(choices=RollupRow.Stage.values, required=False, help_text="Empty: all three.")
    year = serializers.IntegerField(
        default=0, min_value=0, max_value=2100, help_text="Reference year of the measures; 0: all years together."
    )

    def validate(self, attrs):
        if attrs["level"] == "enterprise" and "id" not in attrs:
            raise serializers.ValidationError({"id": [self.fields["id"].error_messages["required"]]})
        if attrs["technique"] and attrs["kind"] != Measure.Kind.RECP:
            raise serializers.ValidationError({"technique": [_("A technique goes with kind=recp.")]})
        return attrs


class RollupRowSerializer(serializers.Serializer):
    """Annual savings of one scope, kind, technique, stage and year, as of the latest change they include."""

    level = serializers.ChoiceField(choices=LEVELS)
    id = serializers.IntegerField(allow_null=True, help_text="The scope's id; null for the programme.")
    kind = serializers.ChoiceField(choices=KINDS)
    technique = serializers.CharField(allow_blank=True)
    stage = serializers.ChoiceField(choices=RollupRow.Stage.values)
    year = serializers.IntegerField(help_text="0: all years together.")
    electricity_kwh = serializers.DecimalField(max_digits=24, decimal_places=4)
    water_m3 = serializers.DecimalField(max_digits=24, decimal_places=4)
    cost_usd = serializers.DecimalField(max_digits=22, decimal_places=2, allow_null=True)
    cost_vnd = serializers.DecimalField(
        max_digits=24,
        decimal_places=0,
        allow_null=True,
        help_text="The sum of the measures' own VND, each at the rate of its estimate's year.",
    )
    co2e_t = serializers.DecimalField(max_digits=20, decimal_places=3)
    measure_count = serializers.IntegerField()
    enterprise_count = serializers.IntegerField()
    as_of = serializers.DateTimeField(allow_null=True)
    withheld = serializers.ListField(
        child=serializers.CharField(), help_text="Figures left out (null) for the caller: see `suppressed`."
    )
    suppressed = serializers.BooleanField(
        help_text="True when the money (cost_usd, cost_vnd) is null by the disclosure rule, not because it is zero: "
        "for partners, where it would reveal the money of enterprises that did not consent."
    )


class RollupResponseSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(
        allow_null=True, help_text="The time of the latest change these figures include (the latest row's)."
    )
    results = RollupRowSerializer(many=True)


class DashboardQuerySerializer(serializers.Serializer):
    """Which dashboard: a level and its scope, and the filters every chart follows."""

    level = serializers.ChoiceField(choices=LEVELS, default="programme")
    id = serializers.IntegerField(required=False, min_value=1, help_text="The province, park or enterprise.")
    kind = serializers.ChoiceField(choices=KINDS, default=ALL, help_text="all, recp or is.")
    year = serializers.IntegerField(
        default=0, min_value=0, max_value=2100, help_text="Reference year of the measures; 0: all years together."
    )

    def validate(self, attrs):
        if attrs["level"] != "programme" and "id" not in attrs:
            raise serializers.ValidationError({"id": [self.fields["id"].error_messages["required"]]})
        return attrs


class DashboardSerializer(serializers.Serializer):
    """A dashboard's data, computed on the server: the page draws its charts from it as it is."""

    scope = serializers.JSONField(help_text="level, id, name and parent (with its dashboard's URL).")
    filters = serializers.JSONField(help_text="The kind and year the figures are for.")
    as_of = serializers.DateTimeField(
        allow_null=True, help_text="The time of the latest change the figures shown include."
    )
    tiles = serializers.JSONField(
        help_text="By stage (potential, realised, verified): kWh, m3, USD, VND (the sum of the measures' own VND), "
        "tCO2e, counts."
    )
    pipeline = serializers.ListField(child=serializers.JSONField(), help_text="The stages in order, with figures.")
    by_kind = serializers.ListField(child=serializers.JSONField(), help_text="RECP and symbiosis, potential.")
    by_technique = serializers.ListField(child=serializers.JSONField(), help_text="RECP techniques.")
    children = serializers.JSONField(help_text="The next level down, potential and realised, with their URLs.")
    targets = serializers.ListField(child=serializers.JSONField(), help_text="Programme targets and progress.")
    statuses = serializers.ListField(child=serializers.JSONField(), help_text="Measures by status, in lifecycle order.")
    quarters = serializers.ListField(
        child=serializers.JSONField(),
        help_text="Realised annual savings by quarter of implementation: per quarter and cumulative (cumulative_*).",
    )
    sankey = serializers.JSONField(required=False, help_text="A park's exchanges: nodes and links.")
    scorecard = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        help_text="A park against the eco-industrial park criteria: value, threshold, met, legal source.",
    )
