"""Reference data: the resource catalogue, emission factors of DOMAIN.md and USD exchange rates.

Admins may correct any of these afterwards; re-running adds only what is missing.
"""

from decimal import Decimal as D

from django.db import migrations

RESOURCES = [
    # code, Vietnamese, English, category, canonical unit, density t/m3, density source, saving may be negative
    ("electricity", "Điện", "Electricity", "electricity", "kWh", None, "", True),
    ("water", "Nước", "Water", "water", "m3", None, "", False),
    ("diesel", "Dầu diesel (DO)", "Gas/diesel oil", "fuel", "t", D("0.8400"),
     "Typical value within TCVN 5689:2018 limits (0.82-0.86 t/m3 at 15 °C); unverified, check the supplier's sheet", False),
    ("fuel-oil", "Dầu FO (nhiên liệu đốt lò)", "Residual fuel oil", "fuel", "t", D("0.9600"),
     "Typical value for residual fuel oil at 15 °C; unverified", False),
    ("lpg", "Khí hóa lỏng (LPG)", "Liquefied petroleum gas (LPG)", "fuel", "t", D("0.5400"),
     "Typical liquid density of LPG at 15 °C; unverified", False),
    ("natural-gas", "Khí thiên nhiên", "Natural gas", "fuel", "t", None, "", False),
    ("coal-bituminous", "Than bitum", "Other bituminous coal", "fuel", "t", None, "", False),
    ("coal-subbituminous", "Than á bitum", "Sub-bituminous coal", "fuel", "t", None, "", False),
    ("anthracite", "Than antraxit", "Anthracite", "fuel", "t", None, "", False),
    ("wood", "Gỗ và phế phẩm gỗ (sinh khối)", "Wood and wood waste (biomass)", "fuel", "t", None, "", False),
    ("steam", "Hơi nước", "Steam", "heat", "GJ", None, "", False),
    ("raw-material", "Nguyên vật liệu", "Raw materials", "material", "t", None, "", False),
    ("chemicals", "Hóa chất", "Chemicals", "material", "t", None, "", False),
    ("solid-waste", "Chất thải rắn", "Solid waste", "waste", "t", None, "", False),
    ("hazardous-waste", "Chất thải nguy hại", "Hazardous waste", "waste", "t", None, "", False),
    ("fly-ash-slag", "Tro bay và xỉ", "Fly ash and slag", "waste", "t", None, "", False),
    ("scrap-metal", "Phế liệu kim loại", "Scrap metal", "waste", "t", None, "", False),
    ("wastewater", "Nước thải", "Wastewater", "waste", "m3", None, "", False),
]

GRID_SOURCE = "DCC (climatechange.vn), Viet Nam grid emission factor, CDM tool"
GRID = [
    (2018, D("0.9130"), True, GRID_SOURCE),
    (2019, D("0.8458"), True, GRID_SOURCE),
    (2020, D("0.8041"), True, GRID_SOURCE),
    (2021, D("0.7221"), True, GRID_SOURCE),
    (2022, D("0.6766"), True, "DCC, Official Letter 327/BĐKH-PTCBT (grid emission factor 2022)"),
    (2023, D("0.6592"), True, GRID_SOURCE),
    (2024, D("0.6811"), False, GRID_SOURCE + "; reported, not verified as official"),
]

IPCC_SOURCE = "IPCC 2006 Guidelines, Vol. 2 Ch. 1, Tables 1.2 and 1.4"
FUELS = [
    # resource, kgCO2/TJ, NCV TJ/Gg, tCO2/t, basis, official
    ("diesel", D("74100"), D("43.0"), D("3.186"), "fossil", True),
    ("fuel-oil", D("77400"), D("40.4"), D("3.127"), "fossil", True),
    ("lpg", D("63100"), D("47.3"), D("2.985"), "fossil", True),
    ("natural-gas", D("56100"), D("48.0"), D("2.693"), "fossil", True),
    ("coal-bituminous", D("94600"), D("25.8"), D("2.441"), "fossil", True),
    ("coal-subbituminous", D("96100"), D("18.9"), D("1.816"), "fossil", True),
    ("anthracite", D("98300"), D("26.7"), D("2.625"), "fossil", False),
    ("wood", D("112000"), D("15.6"), D("1.747"), "biogenic", True),
]

RATE_SOURCE = "World Bank WDI PA.NUS.FCRF (IMF International Financial Statistics), annual average"
RATES = [
    (2019, D("23050.24"), True, RATE_SOURCE),
    (2020, D("23208.37"), True, RATE_SOURCE),
    (2021, D("23159.78"), True, RATE_SOURCE),
    (2022, D("23271.21"), False, RATE_SOURCE + "; unverified, check before use"),
    (2023, D("23787.32"), False, RATE_SOURCE + "; unverified, check before use"),
]


def load(apps, schema_editor):
    Resource = apps.get_model("measures", "Resource")
    EmissionFactor = apps.get_model("measures", "EmissionFactor")
    ExchangeRate = apps.get_model("measures", "ExchangeRate")
    for code, vi, en, category, unit, density, density_source, negative in RESOURCES:
        Resource.objects.get_or_create(
            code=code,
            defaults=dict(
                name_vi=vi,
                name_en=en,
                category=category,
                canonical_unit=unit,
                density_t_per_m3=density,
                density_source=density_source,
                allows_negative_saving=negative,
            ),
        )
    electricity = Resource.objects.get(code="electricity")
    for year, value, official, source in GRID:
        EmissionFactor.objects.get_or_create(
            resource=electricity,
            region="VN",
            year=year,
            defaults=dict(value=value, per_unit="MWh", basis="fossil", source=source, is_official=official),
        )
    for code, kg_per_tj, ncv, value, basis, official in FUELS:
        EmissionFactor.objects.get_or_create(
            resource=Resource.objects.get(code=code),
            region="IPCC",
            year=None,
            defaults=dict(
                value=value,
                per_unit="t",
                basis=basis,
                kg_co2_per_tj=kg_per_tj,
                ncv_tj_per_gg=ncv,
                source=IPCC_SOURCE,
                is_official=official,
                note="" if official else "Unverified: check before use.",
            ),
        )
    for year, value, official, source in RATES:
        ExchangeRate.objects.get_or_create(
            currency="USD", year=year, defaults=dict(vnd_per_unit=value, source=source, is_official=official)
        )


class Migration(migrations.Migration):
    dependencies = [("measures", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
