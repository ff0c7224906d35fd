"""Intake rate limits: per person and per address, answered 429 with Retry-After, nothing stored."""

from __future__ import annotations

import pytest

from service.core.ratelimit import RateLimits, parse_rates
from service.incidents.models import Incident

from .helpers import as_, body, count_rows, limits_of


@pytest.fixture
def tight(client):
    """The app's limits for this test only: 3 reports a minute per person, 5 per address."""
    with limits_of(client, RateLimits(per_user="3/minute", per_address="5/minute")):
        yield client


def test_a_person_over_the_limit_gets_429_and_nothing_is_stored(tight):
    for _ in range(3):
        assert tight.post("/incidents", json=body()).status_code == 201
    stored = count_rows(tight, Incident)
    refused = tight.post("/incidents", json=body(), headers={"Idempotency-Key": "flood-4"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    [item] = refused.json()["detail"]
    assert "at most 3 per minute" in item["message"]
    assert "Idempotency-Key" in item["fix"]
    assert count_rows(tight, Incident) == stored

    # Another person from the same address still files, up to the address's 5 a minute.
    other = as_(tight, "dispatch2")
    assert tight.post("/incidents", json=body(), headers=other).status_code == 201
    assert tight.post("/incidents", json=body(), headers=other).status_code == 201
    by_address = tight.post("/incidents", json=body(), headers=other)
    assert by_address.status_code == 429
    assert "per address" in by_address.json()["detail"][0]["message"]


def test_a_refused_request_is_not_counted():
    # Refused by the per-address window, the person's own window is not charged either.
    limits = RateLimits(per_user="2/minute", per_address="2/minute")
    limits.hit(who="a", address="10.0.0.1")
    limits.hit(who="b", address="10.0.0.1")
    with pytest.raises(Exception, match="per address"):
        limits.hit(who="c", address="10.0.0.1")
    limits.hit(who="c", address="10.0.0.2")
    limits.hit(who="c", address="10.0.0.3")
    with pytest.raises(Exception, match="per person"):
        limits.hit(who="c", address="10.0.0.4")


def test_a_rate_that_does_not_parse_names_the_form():
    with pytest.raises(ValueError, match="120/minute"):
        parse_rates("lots")
    assert [str(r) for r in parse_rates("120/minute; 3000/hour")] == [
        "120 per 1 minute",
        "3000 per 1 hour",
    ]
