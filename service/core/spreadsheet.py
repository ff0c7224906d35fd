"""Tables as downloads: CSV that Excel opens as UTF-8, and XLSX workbooks with one sheet per
table (the figures first, then the rows behind them)."""

from __future__ import annotations

import io
from typing import Any, Literal

import pandas as pd
from fastapi import Response

__all__ = [
    "FILE_RESPONSES",
    "XLSX_MEDIA_TYPE",
    "TableFormat",
    "csv_response",
    "json_rows",
    "xlsx_response",
]

TableFormat = Literal["json", "csv", "xlsx"]
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The OpenAPI ``responses`` of a route that can answer with either file.
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}
}


def _download(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def json_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """``table``'s rows as dicts for a JSON answer: pandas' missing values (NaN) as None."""
    return [
        {
            str(k): (None if v is None or (isinstance(v, float) and pd.isna(v)) else v)
            for k, v in row.items()
        }
        for row in table.to_dict(orient="records")
    ]


def csv_response(table: pd.DataFrame, *, filename: str) -> Response:
    """``table`` as a CSV download; the BOM lets Excel read the Chinese text as UTF-8."""
    return Response(
        "\ufeff" + table.to_csv(index=False),
        media_type="text/csv",
        headers=_download(filename),
    )


def xlsx_response(sheets: dict[str, pd.DataFrame], *, filename: str) -> Response:
    """A workbook with one sheet per entry (names cut to Excel's 31 characters), its header
    row frozen and its columns as wide as their longest value."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in sheets.items():
            sheet_name = name[:31]
            table.to_excel(writer, sheet_name=sheet_name, index=False)
            sheet = writer.sheets[sheet_name]
            sheet.freeze_panes = "A2"
            for column, header in zip(sheet.columns, table.columns, strict=True):
                values = [str(header), *(str(v) for v in table[header].head(500))]
                width = max(len(v.encode("gbk", "replace")) for v in values)
                sheet.column_dimensions[column[0].column_letter].width = min(width + 2, 60)
    return Response(buffer.getvalue(), media_type=XLSX_MEDIA_TYPE, headers=_download(filename))
