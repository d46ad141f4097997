"""The memory of verified tokens on its own: keyed by kind and token, answered only between the
check and the expiry, bounded, least recently used forgotten first. How ``TokenService`` uses it
is tested in ``test_tokens``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from twofactor.security.verified_tokens import CAPACITY, VerifiedTokens

CHECKED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
EXPIRES = CHECKED + timedelta(seconds=900)
CLAIMS = object()


def remember(memory: VerifiedTokens, token: str, kind: str = "access_token") -> None:
    memory.remember(kind, token, CLAIMS, checked_at=CHECKED, expires_at=EXPIRES)


def test_a_remembered_token_answers_with_its_claims_until_just_before_its_expiry() -> None:
    memory = VerifiedTokens()
    remember(memory, "token")
    assert memory.get("access_token", "token", CHECKED) is CLAIMS
    assert memory.get("access_token", "token", EXPIRES - timedelta(microseconds=1)) is CLAIMS


def test_a_token_never_remembered_is_not_answered() -> None:
    assert VerifiedTokens().get("access_token", "token", CHECKED) is None


def test_a_token_remembered_as_one_kind_is_not_answered_as_another() -> None:
    memory = VerifiedTokens()
    remember(memory, "token", "access_token")
    assert memory.get("step_up_token", "token", CHECKED) is None
    assert memory.get("access_token", "token", CHECKED) is CLAIMS


def test_a_token_is_answered_only_for_its_exact_text() -> None:
    memory = VerifiedTokens()
    remember(memory, "token")
    assert memory.get("access_token", "token ", CHECKED) is None
    assert memory.get("access_token", "TOKEN", CHECKED) is None


@pytest.mark.parametrize(
    "now",
    [EXPIRES, EXPIRES + timedelta(days=1)],
    ids=["at-its-expiry", "long-after"],
)
def test_an_expired_token_is_not_answered_and_is_forgotten(now: datetime) -> None:
    memory = VerifiedTokens()
    remember(memory, "token")
    assert memory.get("access_token", "token", now) is None
    assert len(memory) == 0
    # Forgotten, not merely hidden: the clock set back does not bring it back.
    assert memory.get("access_token", "token", CHECKED) is None


def test_a_token_is_not_answered_before_the_time_its_success_was_checked() -> None:
    # A clock set back: the verification's own time checks might answer otherwise then.
    memory = VerifiedTokens()
    remember(memory, "token")
    assert memory.get("access_token", "token", CHECKED - timedelta(microseconds=1)) is None
    assert len(memory) == 0


def test_the_memory_never_holds_more_than_its_capacity() -> None:
    memory = VerifiedTokens(capacity=3)
    for number in range(10):
        remember(memory, f"token-{number}")
        assert len(memory) <= 3
    assert len(memory) == 3
    kept = [memory.get("access_token", f"token-{n}", CHECKED) for n in range(7, 10)]
    assert kept == [CLAIMS, CLAIMS, CLAIMS]


def test_the_least_recently_used_token_is_forgotten_first() -> None:
    memory = VerifiedTokens(capacity=2)
    remember(memory, "first")
    remember(memory, "second")
    assert memory.get("access_token", "first", CHECKED) is CLAIMS  # now the most recent
    remember(memory, "third")
    assert memory.get("access_token", "second", CHECKED) is None
    assert memory.get("access_token", "first", CHECKED) is CLAIMS
    assert memory.get("access_token", "third", CHECKED) is CLAIMS


def test_remembering_a_token_again_replaces_it_without_growing() -> None:
    memory = VerifiedTokens()
    later = EXPIRES + timedelta(seconds=60)
    remember(memory, "token")
    memory.remember("access_token", "token", "newer", checked_at=CHECKED, expires_at=later)
    assert len(memory) == 1
    assert memory.get("access_token", "token", EXPIRES) == "newer"


def test_a_default_memory_holds_its_capacity_of_tokens_and_no_more() -> None:
    memory = VerifiedTokens()
    for number in range(CAPACITY + 1):
        remember(memory, f"token-{number}")
    assert len(memory) == CAPACITY
    assert memory.get("access_token", "token-0", CHECKED) is None
    assert memory.get("access_token", "token-1", CHECKED) is CLAIMS


@pytest.mark.parametrize("capacity", [0, -1])
def test_a_memory_needs_room_for_one_token(capacity: int) -> None:
    with pytest.raises(ValueError, match="at least one"):
        VerifiedTokens(capacity=capacity)
