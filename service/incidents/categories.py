"""The 21 enforcement categories of the plan (附件二, 街道综合执法的范围).

The table lives in ``service/data/categories.csv`` and is read once at import. Each row gives the
plan item's short name, the lead department in Shenzhen terms (by role), a default time limit in
**working hours** with the reasoning in the CSV's ``basis`` column, and a crosswalk to the event
classes of GB/T 30428.2 (事件大类/小类) whose ``crosswalk_confidence`` says how close it is
(``exact``, ``approximate`` or ``none``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = ["CATEGORIES", "Category", "category_codes", "get_category"]

_DATA: Final = Path(__file__).resolve().parent / "data" / "categories.csv"
_CONFIDENCE: Final = ("exact", "approximate", "none")

CrosswalkConfidence = Literal["exact", "approximate", "none"]


@dataclass(frozen=True, slots=True)
class Category:
    """One enforcement category of the plan.

    Parameters
    ----------
    code
        ``C01`` .. ``C21``, in the order of the plan's 附件二.
    number
        The item's number in 附件二 (1-21).
    name_zh, name_en
        Short names faithful to the plan item.
    lead_department
        The lead department in Shenzhen terms (a role, never a person).
    time_limit_hours
        Default handling time limit in working hours (工作时).
    gbt_major, gbt_minor
        GB/T 30428.2 event class (事件大类) and small class (小类), ``None`` where none fits.
    keywords
        Words that suggest the category in a free-text report.
    urgent_by_default
        Safety hazards reported within 15 minutes whatever their size.
    basis
        Why the time limit was chosen.
    crosswalk_confidence
        How well the GB/T class fits: ``exact``, ``approximate`` or ``none``.
    """

    code: str
    number: int
    name_zh: str
    name_en: str
    lead_department: str
    time_limit_hours: float
    gbt_major: str | None
    gbt_minor: str | None
    keywords: tuple[str, ...]
    urgent_by_default: bool
    basis: str = ""
    crosswalk_confidence: CrosswalkConfidence = "none"
    crosswalk_note: str = ""


def _optional(text: str) -> str | None:
    text = text.strip()
    return text or None


def _parse_bool(text: str, *, where: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        msg = f"{where}: expected true or false, got {text!r}."
        raise ValueError(msg)
    return value == "true"


def _load(path: Path) -> tuple[Category, ...]:
    rows: list[Category] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path.name} line {line}"
            confidence = row["crosswalk_confidence"].strip()
            if confidence not in _CONFIDENCE:
                msg = f"{where}: crosswalk_confidence must be one of {_CONFIDENCE}."
                raise ValueError(msg)
            rows.append(
                Category(
                    code=row["code"].strip(),
                    number=int(row["number"]),
                    name_zh=row["name_zh"].strip(),
                    name_en=row["name_en"].strip(),
                    lead_department=row["lead_department"].strip(),
                    time_limit_hours=float(row["time_limit_hours"]),
                    gbt_major=_optional(row["gbt_major"]),
                    gbt_minor=_optional(row["gbt_minor"]),
                    keywords=tuple(k.strip() for k in row["keywords"].split("|") if k.strip()),
                    urgent_by_default=_parse_bool(row["urgent_by_default"], where=where),
                    basis=row["basis"].strip(),
                    crosswalk_confidence=confidence,  # type: ignore[arg-type]
                    crosswalk_note=row["crosswalk_note"].strip(),
                )
            )
    return tuple(rows)


CATEGORIES: Final[tuple[Category, ...]] = _load(_DATA)
_BY_NUMBER: Final = {c.number: c for c in CATEGORIES}


def category_codes() -> list[str]:
    """The category codes in the plan's order, ``["C01", ..., "C21"]``."""
    return [c.code for c in CATEGORIES]


def get_category(code: str) -> Category:
    """Look a category up by code: ``"C07"``, ``"c07"``, ``"07"`` and ``"7"`` are the same.

    Raises
    ------
    KeyError
        When the code names no category; the message lists the valid codes.
    """
    key = str(code).strip().upper().removeprefix("C")
    category = _BY_NUMBER.get(int(key)) if key.isdigit() else None
    if category is None:
        msg = (
            f"Unknown enforcement category {code!r}: use one of "
            f"{', '.join(category_codes())} (or the plan's item number 1-21)."
        )
        raise KeyError(msg)
    return category
