"""The unit status state machine (pure): which status may follow which.

::

    off_duty  -> available
    available -> en_route, on_scene, on_break, off_duty
    en_route  -> on_scene, returning, available
    on_scene  -> returning, available, en_route
    on_break  -> available, off_duty
    returning -> available, en_route, on_break, off_duty

``available -> on_scene`` is a patrol that finds a problem itself; ``en_route -> available`` an
assignment cancelled on the way; ``on_scene -> en_route`` a unit sent on from one scene to the
next. Anything else raises :class:`InvalidUnitTransition`, which names the allowed next states.
"""

from __future__ import annotations

from typing import Final

__all__ = ["TRANSITIONS", "UNIT_STATUSES", "InvalidUnitTransition", "allowed_next", "check"]

UNIT_STATUSES: Final = ("off_duty", "available", "en_route", "on_scene", "on_break", "returning")
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "off_duty": frozenset({"available"}),
    "available": frozenset({"en_route", "on_scene", "on_break", "off_duty"}),
    "en_route": frozenset({"on_scene", "returning", "available"}),
    "on_scene": frozenset({"returning", "available", "en_route"}),
    "on_break": frozenset({"available", "off_duty"}),
    "returning": frozenset({"available", "en_route", "on_break", "off_duty"}),
}
assert set(TRANSITIONS) == set(UNIT_STATUSES)


class InvalidUnitTransition(ValueError):  # noqa: N818 (a refusal, named as the rule)
    """A status change the state machine does not allow."""

    def __init__(self, current: str, wanted: str) -> None:
        self.current = current
        self.wanted = wanted
        self.allowed = allowed_next(current)
        allowed = ", ".join(self.allowed) or "none"
        super().__init__(
            f"A unit cannot go from {current} to {wanted}; from {current} it can go to: {allowed}."
        )


def allowed_next(current: str) -> tuple[str, ...]:
    """The statuses that may follow ``current``, sorted."""
    return tuple(sorted(TRANSITIONS.get(current, frozenset())))


def check(current: str, wanted: str) -> None:
    """Raise :class:`InvalidUnitTransition` unless ``current -> wanted`` is allowed.

    An unknown ``wanted`` raises :class:`ValueError` naming the known statuses.
    """
    if wanted not in TRANSITIONS:
        msg = f"Unknown unit status {wanted!r}; use one of {', '.join(UNIT_STATUSES)}."
        raise ValueError(msg)
    if wanted not in TRANSITIONS.get(current, frozenset()):
        raise InvalidUnitTransition(current, wanted)
