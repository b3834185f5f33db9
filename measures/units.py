"""Units of measure and the one place where quantities are converted to a resource's canonical unit.

Unit definitions are physics (1 MWh = 1,000 kWh), not domain facts that change, so they live in code. Facts
that do change, such as a fuel's density, live on the `Resource` row.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Unit:
    """A unit: its dimension and how many of the dimension's base unit one of it is."""

    code: str
    dimension: str
    to_base: Decimal


# Base units: electricity kWh, volume m3, mass t, heat GJ.
UNITS: dict[str, Unit] = {
    u.code: u
    for u in [
        Unit("kWh", "electricity", Decimal(1)),
        Unit("MWh", "electricity", Decimal(1000)),
        Unit("GWh", "electricity", Decimal(1_000_000)),
        Unit("m3", "volume", Decimal(1)),
        Unit("L", "volume", Decimal("0.001")),
        Unit("t", "mass", Decimal(1)),
        Unit("kg", "mass", Decimal("0.001")),
        Unit("MJ", "heat", Decimal("0.001")),
        Unit("GJ", "heat", Decimal(1)),
        Unit("TJ", "heat", Decimal(1000)),
    ]
}
UNIT_CHOICES = [(code, code) for code in UNITS]
CANONICAL_UNIT_CHOICES = [("kWh", "kWh"), ("m3", "m3"), ("t", "t"), ("GJ", "GJ")]


class UnitError(ValueError):
    """A quantity that cannot be expressed in the unit asked for; the message is for the user."""


def convert(quantity: Decimal, from_unit: str, to_unit: str, *, density_t_per_m3: Decimal | None = None) -> Decimal:
    """`quantity` in `from_unit` expressed in `to_unit`; mass and volume convert only through a density."""
    try:
        source, target = UNITS[from_unit], UNITS[to_unit]
    except KeyError as exc:
        raise UnitError(_("Unknown unit: %(unit)s.") % {"unit": exc.args[0]}) from exc
    base = quantity * source.to_base
    if source.dimension == target.dimension:
        return base / target.to_base
    if {source.dimension, target.dimension} == {"mass", "volume"}:
        if not density_t_per_m3:
            raise UnitError(
                _("%(from)s cannot be converted to %(to)s without a density for this resource.")
                % {"from": from_unit, "to": to_unit}
            )
        tonnes = base * density_t_per_m3 if source.dimension == "volume" else base
        return tonnes / target.to_base if target.dimension == "mass" else tonnes / density_t_per_m3 / target.to_base
    raise UnitError(
        _("%(from)s cannot be converted to %(to)s: they measure different things.") % {"from": from_unit, "to": to_unit}
    )


def uses_density(from_unit: str, to_unit: str) -> bool:
    """Whether converting between the two units goes through a density (a volume to a mass, or back)."""
    return {UNITS[from_unit].dimension, UNITS[to_unit].dimension} == {"mass", "volume"}


def units_for(canonical_unit: str, *, has_density: bool) -> list[str]:
    """The units a quantity of a resource may be entered in."""
    dimension = UNITS[canonical_unit].dimension
    allowed = {dimension}
    if has_density and dimension in {"mass", "volume"}:
        allowed |= {"mass", "volume"}
    return [code for code, unit in UNITS.items() if unit.dimension in allowed]
