"""The one table of domain errors and their statuses (service/core/errors.py)."""

import pytest

from geo.errors import (
    CoordinateError,
    InfeasiblePlanError,
    LayerIssue,
    LayerValidationError,
    OutsideJurisdictionError,
    RoadGraphError,
    UnknownCRSError,
)
from service.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
    error_items,
    status_of,
)


@pytest.mark.parametrize(
    ("error", "status", "field"),
    [
        (InvalidInputError("squad", "No squad.", "use west."), 422, "squad"),
        (NotFoundError("id", "No incident.", "check the id."), 404, "id"),
        (ConflictError("unit_id", "Exists.", "pick another."), 409, "unit_id"),
        (UnavailableError(None, "No layer.", "import one."), 503, None),
        (OutsideJurisdictionError("outside"), 422, "location"),
        (CoordinateError("NaN"), 422, "location"),
        (UnknownCRSError("utm"), 422, "crs"),
        (InfeasiblePlanError("No unit is on duty."), 422, None),
        (RoadGraphError("no roads near the station"), 503, "roads"),
    ],
)
def test_each_domain_error_has_its_status_and_names_the_field(error, status, field):
    assert status_of(error) == status
    [item] = error_items(error)
    assert item["field"] == field
    assert item["message"]
    assert item["fix"]


def test_a_layer_validation_error_is_a_422_naming_each_feature_and_its_fix():
    issues = [
        LayerIssue("communities", "440303010001", "self-intersects", "repair it"),
        LayerIssue("key_roads", "R7", "empty geometry", "draw the line"),
    ]
    error = LayerValidationError(issues)
    assert status_of(error) == 422
    assert error_items(error) == [
        {"field": "communities[440303010001]", "message": "self-intersects", "fix": "repair it"},
        {"field": "key_roads[R7]", "message": "empty geometry", "fix": "draw the line"},
    ]


def test_an_unknown_error_is_a_500_that_says_it_is_logged():
    assert status_of(KeyError("bug")) == 500
    [item] = error_items(KeyError("bug"))
    assert "logged" in item["fix"]
