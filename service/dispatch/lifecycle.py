"""The case lifecycle (pure): the seven steps of digital urban management in our terms.

::

    reported -> accepted (立案) | rejected | duplicate (duplicate_of) | dispatched
    accepted -> dispatched
    dispatched -> on_scene | handled
    on_scene -> handled (处置)
    handled -> verified_closed (核查结案, by someone other than who recorded handled)
             | reopened (返工: back to dispatched)
    any open state -> parked (挂账, a reason is required) -> unparked (back where it was)

A step is the name recorded in the timeline; :func:`apply` returns the status it leads to
(``reopened`` leads to ``dispatched``, ``unparked`` to the status before ``parked``, except that
a case parked while a unit was on it returns to ``accepted``: parking released the unit, so the
case waits in the queue for a new assignment).
``dispatched`` is recorded by an assignment (POST /incidents/{id}/assignments), not by hand.
The earlier status names are read as their lifecycle equivalents: filed = accepted,
in_progress = on_scene, on_hold = parked; closed is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "FINAL",
    "MANUAL_STEPS",
    "STEPS",
    "TRANSITIONS",
    "LifecycleError",
    "apply",
    "canonical",
]

STEPS: Final = (
    "accepted",
    "rejected",
    "duplicate",
    "dispatched",
    "on_scene",
    "handled",
    "verified_closed",
    "reopened",
    "parked",
    "unparked",
)
# Steps a person records with POST /incidents/{id}/events.
MANUAL_STEPS: Final = tuple(s for s in STEPS if s != "dispatched")
FINAL: Final = frozenset({"rejected", "duplicate", "verified_closed", "closed"})
_ALIASES: Final = {"filed": "accepted", "in_progress": "on_scene", "on_hold": "parked"}
_OPEN: Final = ("reported", "accepted", "dispatched", "on_scene", "handled")
# Statuses in which a unit is on the case: parking ends its assignment (see the module doc).
_NEEDS_UNIT: Final = frozenset({"dispatched", "on_scene"})
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "reported": frozenset({"accepted", "rejected", "duplicate", "dispatched", "parked"}),
    "accepted": frozenset({"dispatched", "parked"}),
    "dispatched": frozenset({"on_scene", "handled", "parked"}),
    "on_scene": frozenset({"handled", "parked"}),
    "handled": frozenset({"verified_closed", "reopened", "parked"}),
    "parked": frozenset({"unparked"}),
    **{state: frozenset() for state in sorted(FINAL)},
}
assert set(_OPEN) < set(TRANSITIONS)


class LifecycleError(ValueError):
    """A step the lifecycle does not allow; ``rule`` names the rule, ``field`` the input."""

    def __init__(
        self, message: str, *, rule: str, field: str = "step", allowed: tuple[str, ...] = ()
    ) -> None:
        self.rule = rule
        self.field = field
        self.allowed = allowed
        super().__init__(message)


def canonical(status: str) -> str:
    """The lifecycle name of a stored status (filed -> accepted, ...)."""
    return _ALIASES.get(status, status)


@dataclass(frozen=True, slots=True)
class Context:
    """What some steps need to know besides the current status."""

    actor: str
    note: str | None = None
    duplicate_of: int | None = None
    handled_by: str | None = None  # who recorded the latest ``handled``
    parked_from: str | None = None  # the status before ``parked``


def apply(status: str, step: str, context: Context) -> str:
    """The status after ``step`` from ``status``; raises :class:`LifecycleError` naming why."""
    current = canonical(status)
    if step not in STEPS:
        raise LifecycleError(
            f"Unknown step {step!r}.", rule="known_step", allowed=allowed_steps(status)
        )
    allowed = allowed_steps(status)
    if step not in TRANSITIONS.get(current, frozenset()):
        names = ", ".join(allowed) or "none (the case is closed)"
        raise LifecycleError(
            f"An incident that is {current} cannot be {step}; allowed next steps: {names}.",
            rule="transition",
            allowed=allowed,
        )
    if step == "duplicate" and context.duplicate_of is None:
        raise LifecycleError(
            "A duplicate needs the incident it duplicates.",
            rule="duplicate_needs_original",
            field="duplicate_of",
        )
    if step == "parked" and not (context.note and context.note.strip()):
        raise LifecycleError(
            "Parking a case (挂账) needs a reason.", rule="park_needs_reason", field="note"
        )
    if (
        step == "verified_closed"
        and context.handled_by is not None
        and context.handled_by == context.actor
    ):
        raise LifecycleError(
            f"{context.actor} recorded the handling, so someone else must verify and close "
            "it (核查结案 is an independent check).",
            rule="verifier_differs_from_handler",
            field="step",
        )
    if step == "reopened":
        return "dispatched"
    if step == "unparked":
        before = canonical(context.parked_from or "reported")
        return "accepted" if before in _NEEDS_UNIT else before
    return step


def allowed_steps(status: str) -> tuple[str, ...]:
    """The steps allowed from ``status``, sorted."""
    return tuple(sorted(TRANSITIONS.get(canonical(status), frozenset())))
