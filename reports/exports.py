"""Exports of a dashboard's tables with pandas: one table as CSV (UTF-8 with BOM), or all of them as XLSX sheets.
Text cells that a spreadsheet would run as formulas are neutralised."""

import io

import pandas as pd
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from ecopark.admin import spreadsheet_safe
from ecopark.uploads import XLSX


def _frame(table) -> pd.DataFrame:
    rows = [[spreadsheet_safe(v) if isinstance(v, str) else v for v in row] for row in table.rows]
    return pd.DataFrame(rows, columns=[str(h) for h in table.headers])


def export_tables(tables, *, fmt: str, table: str | None, name: str) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        chosen = next((t for t in tables if t.key == (table or tables[0].key)), None)
        if chosen is None:
            raise Http404
        text = _frame(chosen).to_csv(index=False, lineterminator="\r\n")
        response = HttpResponse(("\ufeff" + text).encode("utf-8"), content_type="text/csv; charset=utf-8")
        filename = f"{name}-{chosen.key}-{stamp}.csv"
    else:
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            for item in tables:
                _frame(item).to_excel(writer, sheet_name=str(item.title)[:31], index=False)
        response = HttpResponse(buffer.getvalue(), content_type=XLSX.media_type)
        filename = f"{name}-{stamp}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
