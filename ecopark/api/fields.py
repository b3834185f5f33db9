"""Serializer fields shared by the apps' APIs."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ecopark.roles import Role, role_of


@extend_schema_field(OpenApiTypes.STR)
class ScopedSlugField(serializers.SlugRelatedField):
    """A reference by code, looked up only among what the caller may see (so an unseen object reads as unknown)."""

    def __init__(self, *, selector, **kwargs):
        self.selector = selector
        kwargs.setdefault("slug_field", "code")
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.selector(self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A reference by id, looked up only among what the caller may see."""

    def __init__(self, *, selector, **kwargs):
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.selector(self.context["request"].user)


class WithheldCharField(serializers.CharField):
    """A text a caller may not be allowed to read (a non-consenting enterprise's name, for partners): answered as null
    when withheld, and listed in `withheld`; never null when written."""


class WithheldCharFieldSchema(OpenApiSerializerFieldExtension):
    """The schema says so: nullable in answers, a plain string in requests."""

    target_class = WithheldCharField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "response":
            schema["nullable"] = True
        return schema


def withholds_confidential(request) -> bool:
    """Partners see an enterprise's name and financial figures only if it consented (the figures count in totals)."""
    return role_of(request.user) == Role.PARTNER
