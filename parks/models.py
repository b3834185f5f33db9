"""Provinces, their industrial parks (KCN), and who manages which park."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecopark.i18n import in_language
from ecopark.text import FoldedSearchText


class Province(models.Model):
    """A province or centrally-run city, with its name as it stood in 2020-2024 (an admin may rename it)."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=120, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120)

    class Meta:
        ordering = ["name_vi"]
        verbose_name = _("province")
        verbose_name_plural = _("provinces")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_language(self.name_vi, self.name_en)


class ProvinceStatistic(models.Model):
    """Published yearly figures about a province's industrial parks, with their source."""

    province = models.ForeignKey(
        Province, on_delete=models.CASCADE, related_name="statistics", verbose_name=_("province")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    operating_parks = models.PositiveIntegerField(_("operating industrial parks"), null=True, blank=True)
    investment_projects = models.PositiveIntegerField(_("investment projects"), null=True, blank=True)
    registered_capital_usd = models.DecimalField(
        _("registered capital (USD)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    source = models.CharField(_("source"), max_length=300)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["province", "-year"]
        verbose_name = _("province statistic")
        verbose_name_plural = _("province statistics")
        constraints = [
            models.UniqueConstraint(fields=["province", "year"], name="provincestatistic_unique_year"),
            models.CheckConstraint(condition=Q(year__gte=1990, year__lte=2100), name="provincestatistic_year_range"),
            models.CheckConstraint(
                condition=Q(registered_capital_usd__isnull=True) | Q(registered_capital_usd__gte=0),
                name="provincestatistic_capital_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.province} {self.year}"


class Park(FoldedSearchText, models.Model):
    """An industrial park (KCN) in a province, and how far it takes part in the programme."""

    class ProgrammeStatus(models.TextChoices):
        FULL = "full", _("Full RECP and symbiosis support")
        FOLLOW_UP = "follow_up", _("Follow-up on symbiosis options")
        NOT_IN_PROGRAMME = "none", _("Not in the programme")

    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="parks", verbose_name=_("province"))
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=160)
    name_en = models.CharField(_("name (English)"), max_length=160, blank=True)
    district = models.CharField(_("district"), max_length=120, blank=True)
    operator = models.CharField(_("operator"), max_length=200, blank=True)
    area_ha = models.DecimalField(_("area (ha)"), max_digits=10, decimal_places=2, null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    programme_status = models.CharField(
        _("status in the programme"), max_length=20, choices=ProgrammeStatus.choices, default=ProgrammeStatus.FULL
    )
    source = models.CharField(_("source"), max_length=300, blank=True)
    # Accent-folded text the lists search ("dinh vu" finds "Đình Vũ"), kept by save() from the fields it folds.
    search_text = models.TextField(_("search text"), blank=True, editable=False, db_default="")
    folded_fields = ("code", "name_vi", "name_en", "district", "operator")

    class Meta:
        ordering = ["province__name_vi", "name_vi"]
        verbose_name = _("industrial park")
        verbose_name_plural = _("industrial parks")
        # Lists of measures sorted by park walk the parks in name order (a measure's page of 25 without a full sort).
        indexes = [models.Index(fields=["name_vi"], name="park_name_vi")]
        constraints = [
            models.UniqueConstraint(fields=["province", "name_vi"], name="park_unique_name_in_province"),
            models.CheckConstraint(condition=Q(area_ha__isnull=True) | Q(area_ha__gt=0), name="park_area_positive"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90), name="park_latitude_range"
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="park_longitude_range",
            ),
            models.CheckConstraint(
                condition=Q(programme_status__in=["full", "follow_up", "none"]), name="park_programme_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_language(self.name_vi, self.name_en)


class ParkMembership(models.Model):
    """A user's scope: the parks whose data a park manager may see."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="park_memberships", verbose_name=_("user")
    )
    park = models.ForeignKey(Park, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("park"))

    class Meta:
        ordering = ["user", "park"]
        verbose_name = _("park membership")
        verbose_name_plural = _("park memberships")
        constraints = [models.UniqueConstraint(fields=["user", "park"], name="parkmembership_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.park}"
