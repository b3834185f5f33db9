"""Programme targets, held as data with their source."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
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


class EipCriterion(models.Model):
    """A numeric criterion for recognising an eco-industrial park, with its legal source: the scorecard's thresholds,
    held as data that an administrator corrects when the law changes."""

    class Indicator(models.TextChoices):
        RECP_APPLYING_SHARE = "recp_applying_share", _("Enterprises applying RECP (per cent of the park's enterprises)")
        SYMBIOSIS_LINKS = "symbiosis_links", _("Symbiosis links in operation")
        SYMBIOSIS_SHARE = (
            "symbiosis_share",
            _("Enterprises taking part in symbiosis (per cent of the park's enterprises)"),
        )

    indicator = models.CharField(_("indicator"), max_length=30, choices=Indicator.choices, unique=True)
    threshold = models.DecimalField(_("at least"), max_digits=10, decimal_places=2)
    legal_source = models.CharField(_("legal source"), max_length=300)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["indicator"]
        verbose_name = _("eco-industrial park criterion")
        verbose_name_plural = _("eco-industrial park criteria")
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="eipcriterion_threshold_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.get_indicator_display()} ≥ {self.threshold}"


class DisclosureRule(models.Model):
    """When a partner may read a roll-up figure that includes enterprises that did not consent (one row, corrected by an
    administrator): the thresholds of the rule in `reports.disclosure`, with who set them and why."""

    min_enterprises = models.PositiveSmallIntegerField(
        _("at least this many non-consenting enterprises"),
        default=3,
        validators=[MinValueValidator(2)],
        help_text=_(
            "A figure that partners could narrow down to the money of fewer non-consenting enterprises than this "
            "is not shown to them."
        ),
    )
    max_share = models.DecimalField(
        _("largest share of one enterprise (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(85),
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(Decimal("99.99"))],
        help_text=_("Nor is one where a single non-consenting enterprise holds this share of the money or more."),
    )
    source = models.CharField(_("source or reason"), max_length=300, help_text=_("Who decided the rule, and why."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("disclosure rule")
        verbose_name_plural = _("disclosure rules")
        constraints = [
            models.CheckConstraint(condition=Q(min_enterprises__gte=2), name="disclosurerule_min_enterprises_range"),
            models.CheckConstraint(
                condition=Q(max_share__gte=1, max_share__lt=100), name="disclosurerule_max_share_range"
            ),
        ]

    def __str__(self) -> str:
        return f"≥ {self.min_enterprises}, < {self.max_share}%"

    @classmethod
    def current(cls) -> "DisclosureRule":
        """The rule in force; its defaults if the row is missing (the protection never disappears with its row)."""
        return cls.objects.first() or cls()


class RollupRow(models.Model):
    """Annual savings of one scope, kind, technique, stage and year: the table behind every total.

    `scope_id` is the province's or park's id (0 for the programme). `kind` "all" and `technique` "" mean every kind
    and every technique; `year` 0 means every year. Stages: potential (the live pipeline, estimated), realised
    (implemented or verified, estimated) and verified (verified, as measured); their statuses are the register's
    (`Measure.POTENTIAL_STATUSES`, `REALISED_STATUSES`, `VERIFIED_STATUSES`). A symbiosis exchange counts once, in
    the park that hosts it. Enterprise figures are computed from their few measures when asked (see selectors).
    """

    class Level(models.TextChoices):
        PROGRAMME = "programme", _("Programme")
        PROVINCE = "province", _("Province")
        PARK = "park", _("Park")
        ENTERPRISE = "enterprise", _("Enterprise")

    class Stage(models.TextChoices):
        POTENTIAL = "potential", _("Potential")
        REALISED = "realised", _("Realised")
        VERIFIED = "verified", _("Verified")

    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    scope_id = models.BigIntegerField(_("scope"))
    kind = models.CharField(_("kind"), max_length=4)
    technique = models.CharField(_("technique"), max_length=30, blank=True)
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    electricity_kwh = models.DecimalField(_("electricity (kWh/yr)"), max_digits=24, decimal_places=4)
    water_m3 = models.DecimalField(_("water (m3/yr)"), max_digits=24, decimal_places=4)
    cost_usd = models.DecimalField(_("cost (USD/yr)"), max_digits=22, decimal_places=2)
    # The sum of the measures' own VND (each at its estimate year's rate), not the USD sum converted at one rate.
    cost_vnd = models.DecimalField(_("cost (VND/yr)"), max_digits=24, decimal_places=0)
    co2e_t = models.DecimalField(_("emissions (tCO2e/yr)"), max_digits=20, decimal_places=3)
    measure_count = models.PositiveIntegerField(_("measures"))
    enterprise_count = models.PositiveIntegerField(_("enterprises"))
    computed_at = models.DateTimeField(_("as of"))

    class Meta:
        ordering = ["level", "scope_id", "kind", "technique", "stage", "year"]
        verbose_name = _("roll-up row")
        verbose_name_plural = _("roll-up rows")
        constraints = [
            models.UniqueConstraint(
                fields=["level", "scope_id", "kind", "technique", "stage", "year"], name="rolluprow_unique_key"
            ),
            models.CheckConstraint(condition=Q(kind__in=["all", "recp", "is"]), name="rolluprow_kind_valid"),
            models.CheckConstraint(condition=Q(measure_count__gt=0), name="rolluprow_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.level}:{self.scope_id} {self.kind}/{self.technique or '*'} {self.stage} {self.year or '*'}"


class RollupPending(models.Model):
    """A measure changed since the roll-up last counted it, with how it was counted then (empty when new)."""

    measure_id = models.BigIntegerField(_("measure"), primary_key=True)
    counted_before = models.JSONField(_("counted before"), null=True, blank=True)
    marked_at = models.DateTimeField(_("marked at"), auto_now_add=True)

    class Meta:
        ordering = ["marked_at"]
        verbose_name = _("pending roll-up change")
        verbose_name_plural = _("pending roll-up changes")

    def __str__(self) -> str:
        return f"measure {self.measure_id}"


class FiguresPending(models.Model):
    """Measures whose figures must be worked out again because a reference value they use was corrected: those with
    a saving of `resource_id` (an emission factor), or, with no resource, those with a cost (an exchange rate).

    Recorded in the transaction of the correction and removed once the recompute is done, so that a recompute whose
    task was lost (a worker killed, the queue down when it was sent) is caught up by the periodic sweep.
    """

    key = models.CharField(_("key"), max_length=40, primary_key=True)  # "resource:<id>" or "rates"
    resource_id = models.BigIntegerField(_("resource"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    marked_at = models.DateTimeField(_("marked at"))

    class Meta:
        ordering = ["marked_at"]
        verbose_name = _("pending recompute of figures")
        verbose_name_plural = _("pending recomputes of figures")

    def __str__(self) -> str:
        return self.reason


class RollupRun(models.Model):
    """A run of the roll-up: a full rebuild or an incremental update, with why it ran and what it did."""

    class Mode(models.TextChoices):
        FULL = "full", _("Full rebuild")
        INCREMENTAL = "incremental", _("Incremental")

    mode = models.CharField(_("mode"), max_length=12, choices=Mode.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    measures = models.PositiveIntegerField(_("measures counted"))
    rows = models.PositiveIntegerField(_("rows written"))

    class Meta:
        ordering = ["-finished_at"]
        verbose_name = _("roll-up run")
        verbose_name_plural = _("roll-up runs")

    def __str__(self) -> str:
        return f"{self.mode} {self.finished_at:%Y-%m-%d %H:%M}"
