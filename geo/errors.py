"""Domain exceptions of the spatial core.

Each subclasses a builtin so callers that do not know jiedao can still catch it, and each message
says what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CoordinateError",
    "InfeasiblePlanError",
    "LayerIssue",
    "LayerValidationError",
    "OutsideJurisdictionError",
    "RoadGraphError",
    "UnknownCRSError",
]


class UnknownCRSError(ValueError):
    """A coordinate system name that jiedao does not accept."""


class CoordinateError(ValueError):
    """A coordinate that is not a finite longitude/latitude in range."""


class OutsideJurisdictionError(LookupError):
    """A point that lies outside every community of the active layer."""


class RoadGraphError(ValueError):
    """A road graph that cannot be built, or points that cannot be placed on it."""


class InfeasiblePlanError(ValueError):
    """Patrol-plan input that admits no plan: names the target or unit at fault and the fix."""


@dataclass(frozen=True, slots=True)
class LayerIssue:
    """One problem found in a layer: where it is, what is wrong and how to fix it."""

    layer: str
    feature: str
    problem: str
    fix: str
    severity: str = "error"  # "error" blocks an import; "warning" is reported only

    def __str__(self) -> str:
        return f"{self.layer}[{self.feature}]: {self.problem} Fix: {self.fix}"


class LayerValidationError(ValueError):
    """A layer pack that cannot be imported; ``issues`` lists every blocking problem."""

    def __init__(self, issues: list[LayerIssue]) -> None:
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"{len(issues)} problem(s) in the layer pack:\n{lines}")
