"""The measure register: RECP measures, symbiosis exchanges, their savings and flows, and the factors behind them."""

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ecopark.i18n import in_language
from ecopark.text import FoldedSearchText
from enterprises.models import Enterprise, Organisation
from measures.units import CANONICAL_UNIT_CHOICES, UNIT_CHOICES
from parks.models import Park


class Currency(models.TextChoices):
    VND = "VND", "VND"
    USD = "USD", "USD"


class Resource(models.Model):
    """Something a measure saves or an exchange moves: electricity, water, a fuel, steam, a material or waste."""

    class Category(models.TextChoices):
        ELECTRICITY = "electricity", _("Electricity")
        WATER = "water", _("Water")
        FUEL = "fuel", _("Fuel")
        HEAT = "heat", _("Steam and heat")
        MATERIAL = "material", _("Material")
        WASTE = "waste", _("Waste and by-product")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    canonical_unit = models.CharField(_("canonical unit"), max_length=10, choices=CANONICAL_UNIT_CHOICES)
    density_t_per_m3 = models.DecimalField(
        _("density (t/m3)"),
        max_digits=8,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("For liquids bought by volume: converts litres to tonnes."),
    )
    density_source = models.CharField(_("density source"), max_length=300, blank=True)
    allows_negative_saving = models.BooleanField(
        _("a saving may be negative"),
        default=False,
        help_text=_("For example electricity that rises when a boiler is electrified."),
    )

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        constraints = [
            models.CheckConstraint(
                condition=Q(density_t_per_m3__isnull=True) | Q(density_t_per_m3__gt=0), name="resource_density_positive"
            ),
            models.CheckConstraint(
                condition=Q(canonical_unit__in=["kWh", "m3", "t", "GJ"]), name="resource_canonical_unit_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_language(self.name_vi, self.name_en)


class EmissionFactor(models.Model):
    """tCO2 per unit of a resource, for a region and (for grids) a year, with its source. Versioned by year."""

    class Basis(models.TextChoices):
        FOSSIL = "fossil", _("Fossil")
        BIOGENIC = "biogenic", _("Biogenic")

    resource = models.ForeignKey(
        Resource, on_delete=models.PROTECT, related_name="emission_factors", verbose_name=_("resource")
    )
    region = models.CharField(_("region"), max_length=20, default="VN", help_text=_("VN, or IPCC for a default"))
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True, help_text=_("Empty: any year"))
    value = models.DecimalField(_("tCO2 per unit"), max_digits=12, decimal_places=6)
    per_unit = models.CharField(_("per unit"), max_length=10, choices=UNIT_CHOICES)
    basis = models.CharField(_("basis"), max_length=10, choices=Basis.choices, default=Basis.FOSSIL)
    kg_co2_per_tj = models.DecimalField(_("kgCO2 per TJ"), max_digits=10, decimal_places=1, null=True, blank=True)
    ncv_tj_per_gg = models.DecimalField(
        _("net calorific value (TJ/Gg)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    source = models.CharField(_("source"), max_length=300)
    is_official = models.BooleanField(
        _("official value"), default=True, help_text=_("Unticked for a value that is reported but not verified.")
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["resource", "region", "-year"]
        verbose_name = _("emission factor")
        verbose_name_plural = _("emission factors")
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "region", "year"],
                condition=Q(year__isnull=False),
                name="emissionfactor_unique_year",
            ),
            models.UniqueConstraint(
                fields=["resource", "region"], condition=Q(year__isnull=True), name="emissionfactor_unique_any_year"
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="emissionfactor_value_positive"),
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=1990, year__lte=2100), name="emissionfactor_year_range"
            ),
        ]

    def __str__(self) -> str:
        year = self.year or "*"
        return f"{self.resource.code} {self.region} {year}: {self.value} tCO2/{self.per_unit}"


class ExchangeRate(models.Model):
    """How many VND one unit of a currency was worth in a year, with its source."""

    currency = models.CharField(_("currency"), max_length=3, choices=[(Currency.USD, "USD")], default=Currency.USD)
    year = models.PositiveSmallIntegerField(_("year"))
    vnd_per_unit = models.DecimalField(_("VND per unit"), max_digits=14, decimal_places=4)
    source = models.CharField(_("source"), max_length=300)
    is_official = models.BooleanField(_("official value"), default=True)

    class Meta:
        ordering = ["currency", "-year"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(fields=["currency", "year"], name="exchangerate_unique_year"),
            models.CheckConstraint(condition=Q(vnd_per_unit__gt=0), name="exchangerate_positive"),
            models.CheckConstraint(condition=Q(currency="USD"), name="exchangerate_currency_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.year}: {self.vnd_per_unit} VND"


class PlausibilityWindow(models.Model):
    """The years a measure's estimate may be made for: from an absolute earliest year to a latest one, given as an
    absolute year or as years after the current one. One row holds the register's window; staff correct it here.

    An estimate year outside the window is refused at every door (pages, API, admin, import), so that a typing
    error such as 2035 does not reach the dashboards' year filters.
    """

    earliest_estimate_year = models.PositiveSmallIntegerField(
        _("earliest year of an estimate"), default=2015, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    latest_estimate_year = models.PositiveSmallIntegerField(
        _("latest year of an estimate"),
        null=True,
        blank=True,
        validators=[MinValueValidator(2000), MaxValueValidator(2100)],
        help_text=_("Empty: the current year plus the years ahead below."),
    )
    years_ahead = models.PositiveSmallIntegerField(
        _("years ahead of the current year"),
        default=1,
        validators=[MaxValueValidator(50)],
        help_text=_("Used when no latest year is set: 1 allows next year's estimates."),
    )
    source = models.CharField(_("source or reason"), max_length=300, help_text=_("Who decided the window, and why."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("plausibility window")
        verbose_name_plural = _("plausibility windows")
        constraints = [
            models.CheckConstraint(
                condition=Q(latest_estimate_year__isnull=True)
                | Q(latest_estimate_year__gte=F("earliest_estimate_year")),
                name="plausibilitywindow_latest_not_before_earliest",
                violation_error_message=_("The latest year cannot be before the earliest year."),
            ),
            models.CheckConstraint(condition=Q(years_ahead__lte=50), name="plausibilitywindow_years_ahead_range"),
        ]

    def __str__(self) -> str:
        return f"{self.earliest_estimate_year} - {self.latest_estimate_year or f'+{self.years_ahead}'}"

    @classmethod
    def current(cls) -> "PlausibilityWindow":
        """The register's window; its defaults if the row is missing (a check never disappears with its row)."""
        return cls.objects.first() or cls()

    def latest_year(self, today: datetime.date) -> int:
        """The latest estimate year allowed on `today`."""
        if self.latest_estimate_year is not None:
            return self.latest_estimate_year
        return today.year + self.years_ahead


def _exactly_one(*fields: str) -> Q:
    """A condition: exactly one of the foreign keys is set."""
    options = Q()
    for chosen in fields:
        option = Q(**{f"{chosen}__isnull": False})
        for other in fields:
            if other != chosen:
                option &= Q(**{f"{other}__isnull": True})
        options |= option
    return options


SOURCE_FIELDS = ("source_enterprise", "source_park", "source_organisation")
SINK_FIELDS = ("sink_enterprise", "sink_park", "sink_organisation")


class Measure(FoldedSearchText, models.Model):
    """A resource-efficiency measure (RECP) in one enterprise, or a symbiosis exchange (IS) from a source to a sink.

    `park` is the park whose totals count the measure: the enterprise's park for RECP, the hosting park for IS,
    so that an exchange between two parties is counted once.
    """

    class Kind(models.TextChoices):
        RECP = "recp", _("RECP measure")
        IS = "is", _("Symbiosis exchange")

    class Technique(models.TextChoices):
        GOOD_HOUSEKEEPING = "good_housekeeping", _("Good housekeeping")
        INPUT_CHANGE = "input_change", _("Input material change")
        PROCESS_CONTROL = "process_control", _("Better process control")
        EQUIPMENT_MODIFICATION = "equipment_modification", _("Equipment modification")
        TECHNOLOGY_CHANGE = "technology_change", _("Technology change")
        ONSITE_RECOVERY = "onsite_recovery", _("On-site recovery and reuse")
        USEFUL_BYPRODUCT = "useful_byproduct", _("Production of useful by-products")
        PRODUCT_MODIFICATION = "product_modification", _("Product modification")

    class ExchangeType(models.TextChoices):
        BYPRODUCT = "byproduct", _("By-product or waste exchange")
        UTILITY_SHARING = "utility_sharing", _("Utility sharing")
        SHARED_SERVICES = "shared_services", _("Shared infrastructure or services")

    class Status(models.TextChoices):
        IDENTIFIED = "identified", _("Identified")
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted (planned)")
        IMPLEMENTED = "implemented", _("Implemented")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    CLOSED_STATUSES = (Status.REJECTED, Status.WITHDRAWN)
    # The stages that savings are reported in, nested, defined here and nowhere else (the roll-up, the dashboards and
    # the pages read them): potential is the live pipeline (every status but the closed ones), realised what is in
    # place, verified what was measured in place.
    POTENTIAL_STATUSES = (Status.IDENTIFIED, Status.PROPOSED, Status.ACCEPTED, Status.IMPLEMENTED, Status.VERIFIED)
    REALISED_STATUSES = (Status.IMPLEMENTED, Status.VERIFIED)
    VERIFIED_STATUSES = (Status.VERIFIED,)

    reference = models.SlugField(_("reference"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    park = models.ForeignKey(Park, on_delete=models.PROTECT, related_name="measures", verbose_name=_("park"))
    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="measures",
        null=True,
        blank=True,
        verbose_name=_("enterprise"),
    )
    technique = models.CharField(_("technique"), max_length=30, choices=Technique.choices, blank=True)
    exchange_type = models.CharField(_("type of exchange"), max_length=20, choices=ExchangeType.choices, blank=True)
    source_enterprise = models.ForeignKey(
        Enterprise,
        models.PROTECT,
        related_name="exchanges_out",
        null=True,
        blank=True,
        verbose_name=_("source enterprise"),
    )
    source_park = models.ForeignKey(
        Park, models.PROTECT, related_name="exchanges_out", null=True, blank=True, verbose_name=_("source park")
    )
    source_organisation = models.ForeignKey(
        Organisation,
        models.PROTECT,
        related_name="exchanges_out",
        null=True,
        blank=True,
        verbose_name=_("source organisation"),
    )
    sink_enterprise = models.ForeignKey(
        Enterprise,
        models.PROTECT,
        related_name="exchanges_in",
        null=True,
        blank=True,
        verbose_name=_("sink enterprise"),
    )
    sink_park = models.ForeignKey(
        Park, models.PROTECT, related_name="exchanges_in", null=True, blank=True, verbose_name=_("sink park")
    )
    sink_organisation = models.ForeignKey(
        Organisation,
        models.PROTECT,
        related_name="exchanges_in",
        null=True,
        blank=True,
        verbose_name=_("sink organisation"),
    )
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IDENTIFIED)
    status_reason = models.TextField(_("reason for the status"), blank=True)
    identified_on = models.DateField(_("identified on"))
    estimate_year = models.PositiveSmallIntegerField(
        _("year of the estimate"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    implemented_on = models.DateField(_("implemented on"), null=True, blank=True)
    verified_on = models.DateField(_("verified on"), null=True, blank=True)
    investment = models.DecimalField(_("investment"), max_digits=18, decimal_places=2, null=True, blank=True)
    investment_currency = models.CharField(
        _("investment currency"), max_length=3, choices=Currency.choices, default=Currency.USD
    )
    annual_cost_saving = models.DecimalField(
        _("annual cost saving"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    cost_currency = models.CharField(_("cost currency"), max_length=3, choices=Currency.choices, default=Currency.USD)
    co2e_entered_t = models.DecimalField(
        _("entered tCO2e per year"),
        max_digits=14,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("Leave empty to compute from the savings. An entered value wins and needs a method."),
    )
    co2e_method = models.CharField(_("method of the entered tCO2e"), max_length=200, blank=True)
    co2e_justification = models.TextField(_("justification of the entered tCO2e"), blank=True)
    co2e_t = models.DecimalField(_("tCO2e per year"), max_digits=14, decimal_places=3, default=0, editable=False)
    co2e_computed_t = models.DecimalField(
        _("computed tCO2e per year"), max_digits=14, decimal_places=3, default=0, editable=False
    )
    co2e_biogenic_t = models.DecimalField(
        _("biogenic tCO2 per year"), max_digits=14, decimal_places=3, default=0, editable=False
    )
    # Figures derived from the savings, factors and rates by `measures.services.figures_recompute`, kept on the row
    # so that roll-ups are plain sums. Annual rates, never cumulative.
    reference_year = models.PositiveSmallIntegerField(_("reference year"), default=2000, editable=False)
    electricity_kwh = models.DecimalField(
        _("electricity saved (kWh/yr)"), max_digits=20, decimal_places=4, default=0, editable=False
    )
    water_m3 = models.DecimalField(_("water saved (m3/yr)"), max_digits=20, decimal_places=4, default=0, editable=False)
    cost_usd = models.DecimalField(
        _("cost saved (USD/yr)"), max_digits=18, decimal_places=2, null=True, blank=True, editable=False
    )
    cost_vnd = models.DecimalField(
        _("cost saved (VND/yr)"), max_digits=20, decimal_places=0, null=True, blank=True, editable=False
    )
    electricity_kwh_verified = models.DecimalField(
        _("verified electricity saved (kWh/yr)"), max_digits=20, decimal_places=4, null=True, blank=True, editable=False
    )
    water_m3_verified = models.DecimalField(
        _("verified water saved (m3/yr)"), max_digits=20, decimal_places=4, null=True, blank=True, editable=False
    )
    co2e_verified_t = models.DecimalField(
        _("verified tCO2e per year"), max_digits=14, decimal_places=3, null=True, blank=True, editable=False
    )
    figures_note = models.TextField(_("note on the figures"), blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # Accent-folded text the lists search ("dinh vu" finds "Đình Vũ"), kept by save() from the fields it folds.
    search_text = models.TextField(_("search text"), blank=True, editable=False, db_default="")
    folded_fields = ("reference", "title_vi", "title_en")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["park", "reference"]
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        indexes = [
            models.Index(fields=["park", "kind", "status"], name="measure_park_kind_status"),
            models.Index(fields=["enterprise", "status"], name="measure_enterprise_status"),
            models.Index(fields=["park", "reference_year"], name="measure_park_year"),
            # The measures page sorts a million rows by any of its columns: each sort reads its index (with the id
            # that breaks ties), never every row (issue 17). The park column sorts through park_name_vi.
            models.Index(fields=["title_vi", "id"], name="measure_title_vi_id"),
            models.Index(fields=["status", "id"], name="measure_status_id"),
            models.Index(fields=["reference_year", "id"], name="measure_year_id"),
            models.Index(fields=["electricity_kwh", "id"], name="measure_kwh_id"),
            models.Index(fields=["water_m3", "id"], name="measure_m3_id"),
            models.Index(fields=["cost_usd", "id"], name="measure_usd_id"),
            models.Index(fields=["co2e_t", "id"], name="measure_co2e_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["recp", "is"]), name="measure_kind_valid"),
            models.CheckConstraint(
                condition=~Q(kind="recp")
                | (
                    Q(enterprise__isnull=False, exchange_type="")
                    & ~Q(technique="")
                    & Q(**{f"{f}__isnull": True for f in SOURCE_FIELDS + SINK_FIELDS})
                ),
                name="measure_recp_has_enterprise_and_technique",
                violation_error_message=_(
                    "An RECP measure needs an enterprise and a technique, and has no source or sink."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(kind="is")
                | (
                    Q(enterprise__isnull=True, technique="")
                    & ~Q(exchange_type="")
                    & _exactly_one(*SOURCE_FIELDS)
                    & _exactly_one(*SINK_FIELDS)
                ),
                name="measure_is_has_one_source_and_one_sink",
                violation_error_message=_(
                    "A symbiosis exchange needs a type, exactly one source and exactly one sink."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(source_enterprise=F("sink_enterprise"))
                & ~Q(source_park=F("sink_park"))
                & ~Q(source_organisation=F("sink_organisation")),
                name="measure_is_source_is_not_sink",
                violation_error_message=_("The source and the sink of an exchange must be different parties."),
            ),
            models.CheckConstraint(
                condition=~Q(title_vi="") | ~Q(title_en=""),
                name="measure_has_a_title",
                violation_error_message=_("Give the measure a title, in Vietnamese or in English."),
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "identified",
                        "proposed",
                        "accepted",
                        "implemented",
                        "verified",
                        "rejected",
                        "withdrawn",
                    ]
                ),
                name="measure_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["rejected", "withdrawn"]) | ~Q(status_reason=""),
                name="measure_closed_status_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["implemented", "verified"]) | Q(implemented_on__isnull=False),
                name="measure_implemented_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="verified") | Q(verified_on__isnull=False), name="measure_verified_has_date"
            ),
            models.CheckConstraint(
                condition=Q(estimate_year__gte=2000, estimate_year__lte=2100), name="measure_estimate_year_range"
            ),
            models.CheckConstraint(
                condition=Q(investment__isnull=True) | Q(investment__gte=0),
                name="measure_investment_not_negative",
                violation_error_message=_("The investment cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(investment_currency__in=["VND", "USD"]) & Q(cost_currency__in=["VND", "USD"]),
                name="measure_currency_valid",
            ),
            models.CheckConstraint(
                condition=Q(co2e_entered_t__isnull=True) | ~Q(co2e_method=""),
                name="measure_entered_co2e_has_method",
                violation_error_message=_("An entered tCO2e needs the method it was worked out with."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def title(self) -> str:
        return in_language(self.title_vi, self.title_en)

    @property
    def description(self) -> str:
        return in_language(self.description_vi, self.description_en)

    @property
    def co2e_is_entered(self) -> bool:
        return self.co2e_entered_t is not None


class QuantityLine(models.Model):
    """An annual quantity of a resource, as entered (quantity, unit) and in the resource's canonical unit."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+", verbose_name=_("resource"))
    quantity = models.DecimalField(_("quantity per year"), max_digits=18, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=10, choices=UNIT_CHOICES)
    quantity_canonical = models.DecimalField(
        _("quantity per year in the canonical unit"), max_digits=20, decimal_places=4, editable=False
    )

    class Meta:
        abstract = True


class MeasureSaving(QuantityLine):
    """The estimated annual saving of one resource by a measure, and the verified value once measured (M&V)."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="savings", verbose_name=_("measure"))
    verified_quantity = models.DecimalField(
        _("verified quantity per year"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    verified_quantity_canonical = models.DecimalField(
        _("verified quantity per year in the canonical unit"),
        max_digits=20,
        decimal_places=4,
        null=True,
        blank=True,
        editable=False,
    )

    class Meta:
        ordering = ["measure", "resource"]
        verbose_name = _("saving")
        verbose_name_plural = _("savings")
        constraints = [
            models.UniqueConstraint(fields=["measure", "resource"], name="measuresaving_one_line_per_resource"),
        ]
        # The few savings that are increases (estimated or measured): the measures page asks it of each row it shows.
        indexes = [
            models.Index(
                fields=["measure"],
                condition=Q(quantity__lt=0) | Q(verified_quantity__lt=0),
                name="measuresaving_increase",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resource}: {self.quantity} {self.unit}"

    @property
    def is_increase(self) -> bool:
        """A negative saving: the measure raises the use of this resource (confirmed when it was entered)."""
        return self.quantity < 0 or (self.verified_quantity is not None and self.verified_quantity < 0)


class ResourceFlow(QuantityLine):
    """A resource that a symbiosis exchange moves each year, from its source to its sink (or back)."""

    class Direction(models.TextChoices):
        FORWARD = "forward", _("From source to sink")
        REVERSE = "reverse", _("From sink to source")

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="flows", verbose_name=_("measure"))
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.FORWARD)

    class Meta:
        ordering = ["measure", "id"]
        verbose_name = _("resource flow")
        verbose_name_plural = _("resource flows")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="resourceflow_quantity_positive"),
            models.CheckConstraint(
                condition=Q(direction__in=["forward", "reverse"]), name="resourceflow_direction_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource}: {self.quantity} {self.unit}"


class Evidence(models.Model):
    """A file behind a measure's figures (a meter report, an invoice, a photo), served only to those who may see the
    measure."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("measure"))
    status_change = models.ForeignKey(
        "StatusChange",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="evidence",
        verbose_name=_("status change"),
    )
    # Under MEDIA_ROOT (outside the static root), with a random name (ecopark.uploads.stored_name).
    file = models.FileField(_("file"), upload_to="evidence/", max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    media_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["measure", "uploaded_at", "id"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self) -> str:
        return self.original_name


class Co2eTrailLine(models.Model):
    """One step of a measure's CO2e: which quantity, which factor (and its source) and what it gave."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="co2e_trail", verbose_name=_("measure"))
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+", verbose_name=_("resource"))
    quantity = models.DecimalField(_("quantity"), max_digits=20, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=10)
    factor = models.ForeignKey(
        EmissionFactor, on_delete=models.PROTECT, related_name="trail_lines", verbose_name=_("emission factor")
    )
    factor_value = models.DecimalField(_("factor"), max_digits=12, decimal_places=6)
    factor_unit = models.CharField(_("factor unit"), max_length=20)
    basis = models.CharField(_("basis"), max_length=10, choices=EmissionFactor.Basis.choices)
    result_t = models.DecimalField(_("tCO2"), max_digits=14, decimal_places=3)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # How the saving as entered became `quantity` in the factor's unit: kept with the line, as the factor value is,
    # so that the trail still shows what was used after an admin corrects a density.
    entered_quantity = models.DecimalField(
        _("quantity as entered"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    entered_unit = models.CharField(_("unit as entered"), max_length=10, blank=True)
    density_t_per_m3 = models.DecimalField(
        _("density used (t/m3)"), max_digits=8, decimal_places=4, null=True, blank=True
    )
    density_source = models.CharField(_("source of the density"), max_length=300, blank=True)

    class Meta:
        ordering = ["measure", "id"]
        verbose_name = _("CO2e trail line")
        verbose_name_plural = _("CO2e trail lines")

    def __str__(self) -> str:
        return f"{self.measure_id} {self.resource}: {self.result_t} t"

    @property
    def is_converted(self) -> bool:
        """Whether the saving was entered in another unit than the factor's (the trail then shows that step)."""
        return bool(self.entered_unit) and (self.entered_unit != self.unit or self.density_t_per_m3 is not None)


class StatusChange(models.Model):
    """A step in a measure's lifecycle: from which status to which, who made it, when, and why."""

    measure = models.ForeignKey(
        Measure, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("measure")
    )
    from_status = models.CharField(_("from"), max_length=12, choices=Measure.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=Measure.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    effective_on = models.DateField(_("effective on"))
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["measure", "changed_at", "id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        constraints = [
            models.CheckConstraint(
                condition=~Q(to_status__in=["rejected", "withdrawn"]) | ~Q(reason=""),
                name="statuschange_closing_has_reason",
            ),
            models.CheckConstraint(condition=~Q(from_status=F("to_status")), name="statuschange_changes_status"),
        ]

    def __str__(self) -> str:
        return f"{self.measure_id}: {self.from_status or '∅'} → {self.to_status}"


class ImportJob(models.Model):
    """An upload of a spreadsheet of enterprises and measures: its file, its preview and its result (the import log).

    Nothing is written to the register until the user confirms a preview without errors; then every row is written
    in one transaction, or none.
    """

    class State(models.TextChoices):
        VALIDATING = "validating", _("Checking")
        READY = "ready", _("Ready to import")
        INVALID = "invalid", _("Has errors")
        COMMITTING = "committing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    RUNNING = (State.VALIDATING, State.COMMITTING)

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    # Under MEDIA_ROOT (outside the static root), with a random name; never served back.
    file = models.FileField(_("file"), upload_to="imports/", max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    file_type = models.CharField(_("type"), max_length=10)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    language = models.CharField(_("language"), max_length=10, help_text=_("The language of the messages."))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.VALIDATING)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    # {"enterprises": {"create": n, "update": n, "unchanged": n}, "measures": {...}}
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    # Each planned row: {"table", "row", "reference", "name", "action", "fields"} (capped for large files).
    plan = models.JSONField(_("rows"), default=list, blank=True)
    # Each error: {"sheet", "row", "column", "message"}, in the uploader's language.
    errors = models.JSONField(_("errors"), default=list, blank=True)
    notes = models.JSONField(_("notes"), default=list, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    committed_at = models.DateTimeField(_("imported at"), null=True, blank=True)
    # A job checked or imported by a task: set with the job's change of state, cleared once the task queue has taken
    # its task. While the queue cannot be reached the job waits, and the periodic sweep sends it when it is back.
    waiting_for_queue = models.BooleanField(_("waiting for the task queue"), default=False)
    queued_at = models.DateTimeField(_("handed to the task queue at"), null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["validating", "ready", "invalid", "committing", "done", "failed"]),
                name="importjob_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.uploaded_at:%Y-%m-%d %H:%M})"
