"""The documents a security change writes: factor state, history entry and outbox entry.

They are built here, from the domain's values, so that the document shape has one author; the
test seeders use the same builders.
"""

from __future__ import annotations

from typing import Any

from twofactor.domain.alerts import QueuedAlert, SecurityEvent
from twofactor.domain.model import ChangeOrigin, EmailCodeState, FactorState, TotpState
from twofactor.domain.outbox import DeliveryStatus
from twofactor.security.crypto import FieldCipher, sealed_context

#: Where the encrypted TOTP secret lives; also its encryption context.
TOTP_SECRET_FIELD = "totp.secret"  # noqa: S105 - a field name, not a secret


def factor_state_document(
    principal_id: str, state: FactorState, cipher: FieldCipher
) -> dict[str, Any]:
    """The ``twoFactor.<method>`` sub-document of an enabled factor."""
    if isinstance(state, TotpState):
        document: dict[str, Any] = {
            "secret": cipher.encrypt(state.secret, sealed_context(principal_id, TOTP_SECRET_FIELD)),
            "lastUsedStep": state.last_used_step,
            "recoveryCodes": list(state.recovery_code_hashes),
        }
    else:
        assert isinstance(state, EmailCodeState)
        document = {}
    if state.enabled_at is not None:
        document["enabledAt"] = state.enabled_at
    return document


def event_document(event: SecurityEvent) -> dict[str, Any]:
    """One entry of ``securityEvents``."""
    return {
        "type": event.kind.value,
        "method": event.method.value,
        "at": event.at,
        **origin_document(event.origin),
    }


def outbox_entry(alert: QueuedAlert) -> dict[str, Any]:
    """One entry of ``alertOutbox``: pending and due at once, or, when the alert carries a
    claim, already claimed by the request that queues it (its first attempt; should that
    request die before finishing, the claim goes stale and a worker sends the alert)."""
    entry: dict[str, Any] = {
        "id": alert.id,
        "kind": alert.kind.value,
        "method": alert.method.value,
        "locale": alert.locale,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "createdAt": alert.created_at,
        "nextAttemptAt": alert.created_at,
        "origin": origin_document(alert.origin),
    }
    if alert.claim is not None:
        entry |= {
            "status": DeliveryStatus.SENDING.value,
            "attempts": 1,
            "claim": alert.claim,
            "claimedAt": alert.created_at,
        }
    return entry


def origin_document(origin: ChangeOrigin) -> dict[str, Any]:
    return {
        "sessionId": origin.session_id,
        "ip": origin.request.ip,
        "userAgent": origin.request.user_agent,
        "browser": origin.browser,
        "os": origin.os,
    }
