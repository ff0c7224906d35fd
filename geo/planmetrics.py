"""The figures a squad leader signs a shift plan by.

Utilisation is the share of a unit's shift, less its meal, spent travelling, dwelling or
patrolling: one minus the waiting at stops and the time back at the station before the shift
ends. An idle unit has no target: no hot spot, task or key road, only its meal, rides and
patrol legs (stricter than "nothing but the meal", since every unit now patrols). Presence is
the share of (hot spot, hot period) pairs with a stay of at least ten minutes; a key road is
swept when nine tenths of it lie under the day's paths; a unit returns on time when it is back
at its station within fifteen minutes of the shift's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .shiftplan import UnitPlan

__all__ = ["MIN_PRESENCE_S", "ON_TIME_S", "PlanMetrics", "has_target", "measure", "utilisation"]

# Koper: a stay under ten minutes does little.
MIN_PRESENCE_S: Final = 600.0
ON_TIME_S: Final = 900.0
SWEPT_SHARE: Final = 0.9
_NOT_TARGETS: Final = ("break", "transfer", "patrol")


@dataclass(frozen=True)
class PlanMetrics:
    """A plan's figures; shares are 0-1, ``None`` where there is nothing to count."""

    utilisation_min: float | None
    utilisation_mean: float | None
    idle_units: int
    hotspot_presence: float | None
    key_roads_swept: float | None
    returned_on_time: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        """The figures, rounded to 1/1000, for documents and JSON."""
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def has_target(unit: UnitPlan) -> bool:
    """Whether ``unit`` has a hot spot, task or key road (not only its meal, rides, patrol)."""
    return any(s.kind not in _NOT_TARGETS for s in unit.stops)


def utilisation(unit: UnitPlan, *, shift: tuple[float, float]) -> float:
    """Share of ``unit``'s shift less its meal not spent waiting or back at base early."""
    available = (shift[1] - shift[0]) - unit.break_s
    if available <= 0:
        return 0.0
    waiting = sum(max(0.0, s.start_s - s.arrival_s) for s in unit.stops)
    early = max(0.0, shift[1] - unit.return_s)
    return max(0.0, min(1.0, 1.0 - (waiting + early) / available))


def measure(
    units: Sequence[UnitPlan],
    *,
    shift: tuple[float, float],
    presence: Sequence[str],
    coverage: Mapping[str, float],
) -> PlanMetrics:
    """The figures of a plan's ``units`` over ``shift``, given its presence target ids and the
    share of each key-road piece under its paths."""
    shares = [utilisation(u, shift=shift) for u in units]
    idle = sum(1 for u in units if not has_target(u))
    stays = {
        s.target_id
        for u in units
        for s in u.stops
        if s.departure_s - s.start_s >= MIN_PRESENCE_S - 1e-6
    }
    on_time = [abs(u.return_s - shift[1]) <= ON_TIME_S for u in units]
    return PlanMetrics(
        utilisation_min=min(shares) if shares else None,
        utilisation_mean=sum(shares) / len(shares) if shares else None,
        idle_units=idle,
        hotspot_presence=(sum(t in stays for t in presence) / len(presence) if presence else None),
        key_roads_swept=(
            sum(v >= SWEPT_SHARE for v in coverage.values()) / len(coverage) if coverage else None
        ),
        returned_on_time=sum(on_time) / len(on_time) if on_time else None,
    )
