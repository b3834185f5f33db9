"""Enterprises and outside organisations as the API shows them; enterprises are written through the services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ecopark.api.fields import ScopedSlugField, WithheldCharField, withholds_confidential
from enterprises.models import Enterprise, Organisation
from enterprises.services import EDITABLE_FIELDS, enterprise_create, enterprise_update
from parks.selectors import parks_visible_to

CONFIDENTIAL_FIELDS = ("name",)


class EnterpriseSerializer(serializers.ModelSerializer):
    park = ScopedSlugField(selector=parks_visible_to, help_text="Park code.")
    withheld = serializers.SerializerMethodField(help_text="Fields withheld because the enterprise did not consent.")

    class Meta:
        model = Enterprise
        fields = [
            "id",
            "code",
            "park",
            "name",
            "sector_code",
            "size",
            "joined_programme",
            "partner_consent",
            "withheld",
        ]
        validators = []  # the model's own validation runs in the service (one source of truth with the forms)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_withheld(self, enterprise) -> list[str]:
        return list(CONFIDENTIAL_FIELDS) if self._withholds(enterprise) else []

    def _withholds(self, enterprise) -> bool:
        return withholds_confidential(self.context["request"]) and not enterprise.partner_consent

    def to_representation(self, enterprise):
        data = super().to_representation(enterprise)
        if self._withholds(enterprise):
            for field in CONFIDENTIAL_FIELDS:
                data[field] = None
        return data

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_name in CONFIDENTIAL_FIELDS:  # null in a partner's answer when withheld; the schema says so
            field_class = WithheldCharField
        return field_class, kwargs

    def get_fields(self):
        fields = super().get_fields()
        fields["name"].allow_null = False
        return fields

    def create(self, validated_data):
        return enterprise_create(enterprise=Enterprise(**validated_data))

    def update(self, enterprise, validated_data):
        changes = {k: v for k, v in validated_data.items() if k in EDITABLE_FIELDS}
        return enterprise_update(enterprise_id=enterprise.pk, changes=changes)


class OrganisationSerializer(serializers.ModelSerializer):
    province = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "province", "kind", "name_vi", "name_en"]
