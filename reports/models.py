"""Programme targets, held as data with their source."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecopark.i18n import in_language


class ProgrammeTarget(models.Model):
    """A target of the programme (e.g. 612 RECP options for 68 enterprises), with its source."""

    class Indicator(models.TextChoices):
        RECP_OPTIONS = "recp_options", _("RECP options identified")
        RECP_ENTERPRISES = "recp_enterprises", _("Enterprises in the programme")
        IS_OPTIONS = "is_options", _("Symbiosis options")
        ELECTRICITY_KWH = "electricity_kwh", _("Electricity saved (kWh/yr)")
        WATER_M3 = "water_m3", _("Water saved (m3/yr)")
        COST_USD = "cost_usd", _("Cost saved (USD/yr)")
        CO2E_T = "co2e_t", _("Emissions reduced (tCO2e/yr)")

    indicator = models.CharField(_("indicator"), max_length=30, choices=Indicator.choices, unique=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    value = models.DecimalField(_("target value"), max_digits=18, decimal_places=2)
    year = models.PositiveSmallIntegerField(_("target year"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=300)

    class Meta:
        ordering = ["indicator"]
        verbose_name = _("programme target")
        verbose_name_plural = _("programme targets")
        constraints = [models.CheckConstraint(condition=Q(value__gte=0), name="programmetarget_value_not_negative")]

    def __str__(self) -> str:
        return f"{self.label}: {self.value}"

    @property
    def label(self) -> str:
        return in_language(self.name_vi, self.name_en) or self.get_indicator_display()
