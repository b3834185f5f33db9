"""Provinces and parks as the API shows them."""

from rest_framework import serializers

from parks.models import Park, Province


class ProvinceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Province
        fields = ["id", "code", "name_vi", "name_en"]


class ParkSerializer(serializers.ModelSerializer):
    province = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Park
        fields = [
            "id", "code", "province", "name_vi", "name_en", "district", "operator", "area_ha",
            "latitude", "longitude", "programme_status", "source",
        ]  # fmt: skip
