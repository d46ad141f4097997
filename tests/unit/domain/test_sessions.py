"""Sessions over the in-memory fakes: starting one (an allowlisted access token, a stored session
holding its one refresh token), the allowlist check, refresh-token rotation and reuse detection,
ending one or all the others, and where a change made in a session comes from."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.domain_kit import CLIENT, REQUEST, Kit, build_kit
from tests.support.fakes import Breakable
from twofactor.domain.model import ChangeOrigin, ClientInfo, Principal, RequestInfo
from twofactor.domain.sessions import SessionTokens
from twofactor.errors import (
    AccessTokenExpired,
    AllowlistReadingFailure,
    DatabaseFailure,
    RefreshTokenInvalid,
)
from twofactor.security.tokens import AccessClaims, RefreshClaims


@pytest.fixture
def kit() -> Kit:
    return build_kit()


@pytest.fixture
def ada(kit: Kit) -> Principal:
    return kit.services.accounts.require(kit.register())


@pytest.fixture
def bob(kit: Kit) -> Principal:
    return kit.services.accounts.require(kit.register(email="bob@example.com", name="Bob"))


def start(kit: Kit, principal: Principal) -> SessionTokens:
    return kit.services.sessions.start(principal, CLIENT, REQUEST)


def access_of(kit: Kit, tokens: SessionTokens) -> AccessClaims:
    return kit.services.tokens.verify_access(tokens.access.token)


def refresh_of(kit: Kit, tokens: SessionTokens) -> RefreshClaims:
    return kit.services.tokens.verify_refresh(tokens.refresh.token)


def is_listed(kit: Kit, tokens: SessionTokens) -> bool:
    try:
        kit.services.sessions.require_listed(access_of(kit, tokens))
    except AccessTokenExpired:
        return False
    return True


# start --------------------------------------------------------------------------------------


def test_start_issues_an_access_token_for_the_principal_and_the_new_session(
    kit: Kit, ada: Principal
) -> None:
    tokens = start(kit, ada)

    access = access_of(kit, tokens)
    assert (access.sub, access.sid, access.roles) == (ada.id, tokens.session_id, ("user",))
    assert tokens.access.expires_at == kit.clock.now() + timedelta(
        seconds=kit.settings.access_token_ttl
    )


def test_start_allowlists_the_access_token_until_it_expires(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)

    entry = kit.allowlist.entries[tokens.access.jti]
    assert (entry.principal_id, entry.session_id) == (ada.id, tokens.session_id)
    assert entry.expires_at == tokens.access.expires_at
    assert is_listed(kit, tokens)


def test_start_stores_the_session_with_its_refresh_token_and_client_info(
    kit: Kit, ada: Principal
) -> None:
    tokens = start(kit, ada)

    session = kit.sessions.records[tokens.session_id]
    assert session.principal_id == ada.id
    assert session.refresh_jti == tokens.refresh.jti
    assert session.created_at == kit.clock.now()
    assert session.expires_at == tokens.refresh.expires_at
    assert session.expires_at == kit.clock.now() + timedelta(seconds=kit.settings.refresh_token_ttl)
    assert (session.browser, session.os) == ("Firefox", "Linux")
    assert (session.ip, session.user_agent) == (REQUEST.ip, REQUEST.user_agent)
    refresh = refresh_of(kit, tokens)
    assert (refresh.sub, refresh.sid) == (ada.id, tokens.session_id)


def test_start_keeps_whatever_client_info_is_missing_empty(kit: Kit, ada: Principal) -> None:
    tokens = kit.services.sessions.start(ada, ClientInfo(), RequestInfo(None, None))

    session = kit.sessions.records[tokens.session_id]
    assert (session.browser, session.os, session.ip, session.user_agent) == (None,) * 4


def test_start_marks_the_principal_active_now(kit: Kit, ada: Principal) -> None:
    kit.clock.advance(3600)

    start(kit, ada)

    assert kit.principals.records[ada.id].principal.last_active == kit.clock.now()


def test_every_start_is_a_new_session(kit: Kit, ada: Principal) -> None:
    first, second = start(kit, ada), start(kit, ada)

    assert first.session_id != second.session_id
    assert set(kit.sessions.records) == {first.session_id, second.session_id}


def test_start_fails_as_the_session_store_fails(kit: Kit, ada: Principal) -> None:
    kit.sessions.broken = True

    with pytest.raises(DatabaseFailure):
        start(kit, ada)

    assert kit.allowlist.entries == {}


# require_listed -----------------------------------------------------------------------------


def test_require_listed_accepts_an_allowlisted_access_token(kit: Kit, ada: Principal) -> None:
    kit.services.sessions.require_listed(access_of(kit, start(kit, ada)))


def test_require_listed_refuses_a_token_no_longer_listed_as_expired(
    kit: Kit, ada: Principal
) -> None:
    tokens = start(kit, ada)
    del kit.allowlist.entries[tokens.access.jti]

    with pytest.raises(AccessTokenExpired):
        kit.services.sessions.require_listed(access_of(kit, tokens))


def test_require_listed_refuses_a_listed_jti_presented_for_another_session(
    kit: Kit, ada: Principal
) -> None:
    tokens = start(kit, ada)
    access = access_of(kit, tokens)
    elsewhere = AccessClaims(
        sub=access.sub,
        sid="another-session",
        jti=access.jti,
        roles=access.roles,
        expires_at=access.expires_at,
    )

    with pytest.raises(AccessTokenExpired):
        kit.services.sessions.require_listed(elsewhere)


def test_require_listed_fails_as_the_allowlist_cannot_be_read(kit: Kit, ada: Principal) -> None:
    access = access_of(kit, start(kit, ada))
    kit.allowlist.broken = True

    with pytest.raises(AllowlistReadingFailure):
        kit.services.sessions.require_listed(access)


# refresh ------------------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token_of_the_same_session(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)
    kit.clock.advance(60)

    refreshed = kit.services.sessions.refresh(refresh_of(kit, tokens))

    assert refreshed.session_id == tokens.session_id
    assert refreshed.refresh.jti != tokens.refresh.jti
    session = kit.sessions.records[tokens.session_id]
    assert session.refresh_jti == refreshed.refresh.jti
    assert session.expires_at == refreshed.refresh.expires_at
    assert session.expires_at > tokens.refresh.expires_at


def test_refresh_issues_a_new_allowlisted_access_token(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)

    refreshed = kit.services.sessions.refresh(refresh_of(kit, tokens))

    assert refreshed.access.jti != tokens.access.jti
    access = access_of(kit, refreshed)
    assert (access.sub, access.sid, access.roles) == (ada.id, tokens.session_id, ("user",))
    assert is_listed(kit, refreshed)


def test_refresh_with_the_new_refresh_token_keeps_the_session_going(
    kit: Kit, ada: Principal
) -> None:
    tokens = start(kit, ada)
    for _ in range(3):
        tokens = kit.services.sessions.refresh(refresh_of(kit, tokens))

    assert is_listed(kit, tokens)


def test_refresh_with_an_old_refresh_token_ends_the_session(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)
    refreshed = kit.services.sessions.refresh(refresh_of(kit, tokens))

    with pytest.raises(RefreshTokenInvalid):
        kit.services.sessions.refresh(refresh_of(kit, tokens))  # reuse: treated as theft

    assert tokens.session_id not in kit.sessions.records
    assert not is_listed(kit, tokens)
    assert not is_listed(kit, refreshed)
    with pytest.raises(RefreshTokenInvalid):
        kit.services.sessions.refresh(refresh_of(kit, refreshed))


def test_refresh_reuse_ends_only_the_session_it_belongs_to(kit: Kit, ada: Principal) -> None:
    stolen, other = start(kit, ada), start(kit, ada)
    kit.services.sessions.refresh(refresh_of(kit, stolen))

    with pytest.raises(RefreshTokenInvalid):
        kit.services.sessions.refresh(refresh_of(kit, stolen))

    assert other.session_id in kit.sessions.records
    assert is_listed(kit, other)


def test_refresh_of_an_ended_session_is_invalid(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)
    kit.services.sessions.end(tokens.session_id)

    with pytest.raises(RefreshTokenInvalid):
        kit.services.sessions.refresh(refresh_of(kit, tokens))


def test_refresh_of_a_session_that_never_existed_is_invalid(kit: Kit, ada: Principal) -> None:
    forged = kit.services.tokens.issue_refresh(ada.id, "no-such-session")

    with pytest.raises(RefreshTokenInvalid):
        kit.services.sessions.refresh(kit.services.tokens.verify_refresh(forged.token))

    assert kit.sessions.records == {}


def test_refresh_naming_another_principal_than_the_session_is_invalid_and_ends_nothing(
    kit: Kit, ada: Principal, bob: Principal
) -> None:
    tokens = start(kit, ada)
    forged = kit.services.tokens.issue_refresh(bob.id, tokens.session_id)

    with pytest.raises(RefreshTokenInvalid):
        kit.services.sessions.refresh(kit.services.tokens.verify_refresh(forged.token))

    assert is_listed(kit, tokens)
    kit.services.sessions.refresh(refresh_of(kit, tokens))


def test_refresh_of_a_principal_that_is_gone_is_invalid(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)
    del kit.principals.records[ada.id]

    with pytest.raises(RefreshTokenInvalid):
        kit.services.sessions.refresh(refresh_of(kit, tokens))


def test_refresh_gives_the_principal_s_current_roles(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)
    kit.principals.update(ada.id, roles=("user", "admin"))

    refreshed = kit.services.sessions.refresh(refresh_of(kit, tokens))

    assert access_of(kit, refreshed).roles == ("user", "admin")


# end, end_other_sessions --------------------------------------------------------------------


def test_end_forgets_the_session_and_revokes_its_access_tokens(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)
    refreshed = kit.services.sessions.refresh(refresh_of(kit, tokens))

    kit.services.sessions.end(tokens.session_id)

    assert kit.services.sessions.session(tokens.session_id) is None
    assert not is_listed(kit, tokens)
    assert not is_listed(kit, refreshed)


@pytest.mark.parametrize("store", ["sessions", "allowlist"])
def test_end_that_fails_leaves_the_access_tokens_listed_so_that_a_retry_ends_the_session(
    kit: Kit, ada: Principal, store: str
) -> None:
    tokens = start(kit, ada)
    failing: Breakable = getattr(kit, store)
    failing.broken = True

    with pytest.raises(DatabaseFailure):
        kit.services.sessions.end(tokens.session_id)

    failing.broken = False
    # The session goes first: once the allowlist fails, the refresh token is stopped already.
    assert (kit.services.sessions.session(tokens.session_id) is None) == (store == "allowlist")
    # Its access tokens are still listed: the client's retry passes the access check.
    assert is_listed(kit, tokens)
    kit.services.sessions.end(tokens.session_id)
    assert not is_listed(kit, tokens)
    assert kit.services.sessions.session(tokens.session_id) is None


def test_end_leaves_the_other_sessions_alone(kit: Kit, ada: Principal) -> None:
    ended, kept = start(kit, ada), start(kit, ada)

    kit.services.sessions.end(ended.session_id)

    assert is_listed(kit, kept)
    assert kit.services.sessions.session(kept.session_id) is not None


def test_end_of_an_unknown_session_is_harmless(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)

    kit.services.sessions.end("no-such-session")

    assert is_listed(kit, tokens)


def test_end_other_sessions_keeps_the_current_one_and_other_principals(
    kit: Kit, ada: Principal, bob: Principal
) -> None:
    current, second, third = start(kit, ada), start(kit, ada), start(kit, ada)
    bobs = start(kit, bob)

    kit.services.sessions.end_other_sessions(ada.id, current.session_id)

    assert set(kit.sessions.records) == {current.session_id, bobs.session_id}
    assert is_listed(kit, current)
    assert is_listed(kit, bobs)
    assert not is_listed(kit, second)
    assert not is_listed(kit, third)
    with pytest.raises(RefreshTokenInvalid):
        kit.services.sessions.refresh(refresh_of(kit, second))


# change_origin, session ---------------------------------------------------------------------


def test_change_origin_adds_the_browser_and_os_the_session_was_started_with(
    kit: Kit, ada: Principal
) -> None:
    tokens = start(kit, ada)
    request = RequestInfo(ip="192.0.2.1", user_agent="Mozilla/5.0 (Macintosh)")

    origin = kit.services.sessions.change_origin(tokens.session_id, request)

    assert origin == ChangeOrigin(
        session_id=tokens.session_id, request=request, browser="Firefox", os="Linux"
    )


def test_change_origin_of_a_session_that_is_gone_knows_only_the_request(kit: Kit) -> None:
    origin = kit.services.sessions.change_origin("no-such-session", REQUEST)

    assert origin == ChangeOrigin(session_id="no-such-session", request=REQUEST)


def test_session_reads_the_stored_session(kit: Kit, ada: Principal) -> None:
    tokens = start(kit, ada)

    assert (
        kit.services.sessions.session(tokens.session_id) == kit.sessions.records[tokens.session_id]
    )
    assert kit.services.sessions.session("no-such-session") is None
