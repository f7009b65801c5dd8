"""The intake rule every way in applies (domain/intake.py): no `received_at` in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.intake import FUTURE_LEEWAY, ReceivedInFuture, check_received_at

NOW = datetime(2027, 3, 3, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "received_at",
    [
        NOW,
        NOW - timedelta(days=400),  # long ago is fine here: declining late complaints is a step
        NOW + timedelta(seconds=59),  # a clock a little ahead of ours
        NOW + FUTURE_LEEWAY,
    ],
)
def test_now_the_past_and_a_minute_ahead_are_accepted(received_at: datetime) -> None:
    check_received_at(received_at, NOW)


def test_two_days_ahead_is_refused_naming_the_field_in_plain_english() -> None:
    with pytest.raises(ReceivedInFuture) as refused:
        check_received_at(NOW + timedelta(days=2), NOW)
    err = refused.value
    assert isinstance(err, ValueError)
    assert err.field == "received_at"
    assert str(err) == (
        "received_at: 2027-03-05T10:30+00:00 is in the future; give when the resident got in touch"
    )
    assert err.reason == (
        "2027-03-05T10:30+00:00 is in the future; give when the resident got in touch"
    )
    assert (err.received_at, err.now) == (NOW + timedelta(days=2), NOW)


def test_just_over_a_minute_ahead_is_refused() -> None:
    with pytest.raises(ReceivedInFuture):
        check_received_at(NOW + FUTURE_LEEWAY + timedelta(seconds=1), NOW)


def test_moments_are_compared_as_instants_whatever_their_zone() -> None:
    london = ZoneInfo("Europe/London")
    summer_now = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)  # 10:00 in London (BST)
    check_received_at(datetime(2027, 7, 1, 10, 0, tzinfo=london), summer_now)
    with pytest.raises(ReceivedInFuture) as refused:
        check_received_at(datetime(2027, 7, 1, 10, 5, tzinfo=london), summer_now)
    assert "2027-07-01T10:05+01:00 is in the future" in str(refused.value)


def test_a_time_without_a_zone_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        check_received_at(datetime(2027, 3, 3, 10, 30), NOW)
    with pytest.raises(TypeError):
        check_received_at(NOW, datetime(2027, 3, 3, 10, 30))
