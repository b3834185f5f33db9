"""Enterprises in the parks, and outside organisations that take part in symbiosis (city agencies, utilities)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecopark.i18n import in_language
from ecopark.text import FoldedSearchText
from parks.models import Park, Province


class Enterprise(FoldedSearchText, models.Model):
    """A company operating in a park; `code` is its stable reference for imports and the API."""

    class Size(models.TextChoices):
        MICRO = "micro", _("Micro")
        SMALL = "small", _("Small")
        MEDIUM = "medium", _("Medium")
        LARGE = "large", _("Large")

    park = models.ForeignKey(Park, on_delete=models.PROTECT, related_name="enterprises", verbose_name=_("park"))
    code = models.SlugField(_("reference"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    sector_code = models.CharField(
        _("sector code (VSIC)"), max_length=10, blank=True, help_text=_("Viet Nam Standard Industrial Classification")
    )
    size = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True)
    joined_programme = models.BooleanField(_("joined the programme"), default=False)
    partner_consent = models.BooleanField(
        _("consents to partners seeing its figures"),
        default=False,
        help_text=_("Without consent, partners see this enterprise only inside aggregates."),
    )
    # Accent-folded text the lists search ("dinh vu" finds "Đình Vũ"), kept by save() from the fields it folds.
    search_text = models.TextField(_("search text"), blank=True, editable=False, db_default="")
    folded_fields = ("code", "name")

    class Meta:
        ordering = ["park", "name"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        constraints = [
            models.UniqueConstraint(fields=["park", "name"], name="enterprise_unique_name_in_park"),
            models.CheckConstraint(
                condition=Q(size__in=["", "micro", "small", "medium", "large"]), name="enterprise_size_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    """A party outside the parks' enterprises: a city agency, utility, treatment plant, district or residents."""

    class Kind(models.TextChoices):
        CITY_AGENCY = "city_agency", _("City or district agency")
        UTILITY = "utility", _("Utility")
        WASTEWATER_PLANT = "wastewater_plant", _("Wastewater treatment plant")
        WASTE_COMPANY = "waste_company", _("Waste company")
        RESIDENTS = "residents", _("Residents")
        OTHER = "other", _("Other")

    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="organisations", verbose_name=_("province")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        ordering = ["province", "name_vi"]
        verbose_name = _("outside organisation")
        verbose_name_plural = _("outside organisations")
        constraints = [
            models.UniqueConstraint(fields=["province", "name_vi"], name="organisation_unique_name_in_province"),
            models.CheckConstraint(
                condition=Q(
                    kind__in=["city_agency", "utility", "wastewater_plant", "waste_company", "residents", "other"]
                ),
                name="organisation_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_language(self.name_vi, self.name_en)
