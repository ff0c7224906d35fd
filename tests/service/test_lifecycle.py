"""The pure transition tables: the case lifecycle and the unit status state machine."""

import pytest

from service.dispatch import lifecycle, unitstatus
from service.dispatch.lifecycle import Context, LifecycleError, apply
from service.incidents.models import CLOSED_STATUSES, INCIDENT_STATUSES

CTX = Context(actor="dispatcher-1")


@pytest.mark.parametrize(
    ("status", "step", "after"),
    [
        ("reported", "accepted", "accepted"),
        ("reported", "rejected", "rejected"),
        ("reported", "dispatched", "dispatched"),
        ("accepted", "dispatched", "dispatched"),
        ("filed", "dispatched", "dispatched"),  # the earlier name of accepted
        ("dispatched", "on_scene", "on_scene"),
        ("dispatched", "handled", "handled"),
        ("on_scene", "handled", "handled"),
        ("in_progress", "handled", "handled"),  # the earlier name of on_scene
        ("handled", "verified_closed", "verified_closed"),
        ("handled", "reopened", "dispatched"),  # 返工: back to dispatched
    ],
)
def test_allowed_steps(status, step, after):
    assert apply(status, step, Context(actor="checker", handled_by="officer-1")) == after


@pytest.mark.parametrize(
    ("status", "step"),
    [
        ("reported", "handled"),
        ("reported", "verified_closed"),
        ("accepted", "on_scene"),
        ("dispatched", "accepted"),
        ("verified_closed", "reopened"),
        ("rejected", "accepted"),
        ("duplicate", "parked"),
        ("closed", "parked"),
        ("parked", "handled"),
        ("on_scene", "reopened"),
    ],
)
def test_refused_steps_name_the_allowed_ones(status, step):
    with pytest.raises(LifecycleError) as info:
        apply(status, step, Context(actor="a", note="n", duplicate_of=1))
    assert info.value.rule == "transition"
    assert info.value.allowed == lifecycle.allowed_steps(status)
    assert lifecycle.canonical(status) in str(info.value)


def test_the_verifier_must_not_be_the_handler():
    with pytest.raises(LifecycleError) as info:
        apply("handled", "verified_closed", Context(actor="officer-1", handled_by="officer-1"))
    assert info.value.rule == "verifier_differs_from_handler"
    assert (
        apply("handled", "verified_closed", Context(actor="checker", handled_by="officer-1"))
        == "verified_closed"
    )


def test_parking_needs_a_reason_and_unparking_returns_where_it_was():
    for status in ("reported", "accepted", "dispatched", "on_scene", "handled"):
        with pytest.raises(LifecycleError, match="reason") as info:
            apply(status, "parked", Context(actor="a", note="  "))
        assert info.value.field == "note"
        assert apply(status, "parked", Context(actor="a", note="owner unknown")) == "parked"
        back = apply("parked", "unparked", Context(actor="a", parked_from=status))
        # Parking released the unit of a dispatched case: it waits for a new assignment.
        assert back == ("accepted" if status in ("dispatched", "on_scene") else status)
    assert apply("on_hold", "unparked", Context(actor="a", parked_from="filed")) == "accepted"


def test_duplicate_needs_the_original():
    with pytest.raises(LifecycleError) as info:
        apply("reported", "duplicate", CTX)
    assert info.value.field == "duplicate_of"
    assert apply("reported", "duplicate", Context(actor="a", duplicate_of=7)) == "duplicate"


def test_unknown_step():
    with pytest.raises(LifecycleError, match="Unknown step"):
        apply("reported", "teleported", CTX)


def test_every_lifecycle_status_is_a_stored_status_and_final_ones_are_open311_closed():
    reachable = {
        s
        for targets in lifecycle.TRANSITIONS.values()
        for s in targets
        if s not in ("reopened", "unparked")
    }
    assert reachable | set(lifecycle.TRANSITIONS) <= set(INCIDENT_STATUSES)
    assert lifecycle.FINAL == CLOSED_STATUSES
    assert "parked" not in CLOSED_STATUSES  # 挂账 is still open for Open311


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        ("off_duty", "available"),
        ("available", "en_route"),
        ("en_route", "on_scene"),
        ("on_scene", "returning"),
        ("returning", "available"),
        ("available", "on_break"),
        ("on_break", "available"),
        ("available", "off_duty"),
        ("en_route", "available"),
    ],
)
def test_unit_transitions_allowed(current, wanted):
    unitstatus.check(current, wanted)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        ("off_duty", "en_route"),
        ("on_break", "en_route"),
        ("en_route", "on_break"),
        ("on_scene", "off_duty"),
        ("off_duty", "on_scene"),
        ("available", "available"),
    ],
)
def test_unit_transitions_refused_with_the_allowed_next(current, wanted):
    with pytest.raises(unitstatus.InvalidUnitTransition) as info:
        unitstatus.check(current, wanted)
    assert info.value.allowed == unitstatus.allowed_next(current)
    message = str(info.value)
    assert current in message
    assert wanted in message
    assert all(s in message for s in info.value.allowed)


def test_unknown_unit_status():
    with pytest.raises(ValueError, match="Unknown unit status"):
        unitstatus.check("available", "asleep")
