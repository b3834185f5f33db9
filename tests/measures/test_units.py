"""Unit conversion: exact for compatible units, an error (never zero) for incompatible ones."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from measures.units import UNITS, UnitError, convert


def test_electricity_units():
    assert convert(Decimal("4.4"), "GWh", "kWh") == Decimal("4400000")
    assert convert(Decimal(1500), "kWh", "MWh") == Decimal("1.5")


def test_incompatible_units_are_an_error():
    with pytest.raises(UnitError):
        convert(Decimal(1), "kWh", "t")
    with pytest.raises(UnitError):
        convert(Decimal(1), "L", "t")  # no density given
    with pytest.raises(UnitError):
        convert(Decimal(1), "furlong", "t")


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=3, allow_nan=False),
    st.sampled_from(sorted(UNITS)),
)
def test_a_round_trip_through_the_base_unit_returns_the_quantity(quantity, unit):
    base = {"electricity": "kWh", "volume": "m3", "mass": "t", "heat": "GJ"}[UNITS[unit].dimension]
    assert convert(convert(quantity, unit, base), base, unit) == quantity
