"""Principal documents: built for insertion, and validated and decrypted on every read.

A document that does not have the expected shape is never half-used: the principal part
(``_id``, ``kind``, ``roles``, ``createdAt``, ...) failing raises ``InvalidPrincipalDocument``,
the user part (email, password, second factors) failing raises ``InvalidUserDocument``, and a
field that does not decrypt raises ``DatabaseEncryptionFailure``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId

from twofactor.domain.model import Kind, NewUser, Principal, TotpState, TwoFactorMethod
from twofactor.errors import InvalidPrincipalDocument, InvalidUserDocument
from twofactor.security.crypto import FieldCipher, sealed_context
from twofactor.store.change_counts import change_count_from
from twofactor.store.changes import TOTP_SECRET_FIELD
from twofactor.store.step_up_attempts import step_up_attempts_from


def new_user_document(principal_id: ObjectId, user: NewUser, cipher: FieldCipher) -> dict[str, Any]:
    pid = str(principal_id)
    return {
        "_id": principal_id,
        "kind": Kind.USER.value,
        "roles": ["user"],
        "name": cipher.encrypt(user.name, sealed_context(pid, "name")),
        "createdAt": user.created_at,
        "lastActive": user.created_at,
        "stepUpGeneration": 0,
        "email": cipher.encrypt(user.email, sealed_context(pid, "email")),
        "emailHash": user.email_hash,
        "emailVerified": False,
        "passwordHash": user.password_hash,
        "twoFactor": {"methods": [], "preferred": None},
        "securityEvents": [],
        "alertOutbox": [],
    }


def new_guest_document(
    principal_id: ObjectId, *, name: str, now: datetime, cipher: FieldCipher
) -> dict[str, Any]:
    return {
        "_id": principal_id,
        "kind": Kind.GUEST.value,
        "roles": ["guest"],
        "name": cipher.encrypt(name, sealed_context(str(principal_id), "name")),
        "createdAt": now,
        "lastActive": now,
        "stepUpGeneration": 0,
    }


def principal_from_document(document: Mapping[str, Any], cipher: FieldCipher) -> Principal:
    principal_id = document.get("_id")
    if not isinstance(principal_id, ObjectId):
        raise InvalidPrincipalDocument("A stored account has no valid id.")
    pid = str(principal_id)
    try:
        kind = Kind(str(document.get("kind")))
    except ValueError:
        raise InvalidPrincipalDocument("A stored account has an unknown kind.") from None
    roles = document.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise InvalidPrincipalDocument("A stored account has malformed roles.")
    created_at = document.get("createdAt")
    if not isinstance(created_at, datetime):
        raise InvalidPrincipalDocument("A stored account has no creation time.")
    last_active = document.get("lastActive")
    if last_active is not None and not isinstance(last_active, datetime):
        raise InvalidPrincipalDocument("A stored account has a malformed activity time.")
    generation = document.get("stepUpGeneration", 0)
    if not _is_count(generation):
        raise InvalidPrincipalDocument("A stored account has a malformed step-up generation.")
    locale = document.get("locale")
    if locale is not None and not isinstance(locale, str):
        raise InvalidPrincipalDocument("A stored account has a malformed locale.")
    if "name" not in document:
        raise InvalidPrincipalDocument("A stored account has no name.")
    principal = Principal(
        id=pid,
        kind=kind,
        roles=tuple(roles),
        name=cipher.decrypt(document["name"], sealed_context(pid, "name")),
        created_at=created_at,
        last_active=last_active,
        step_up_generation=generation,
        locale=locale,
    )
    if kind is Kind.GUEST:
        return principal
    return _with_user_part(principal, document, cipher)


def _with_user_part(
    principal: Principal, document: Mapping[str, Any], cipher: FieldCipher
) -> Principal:
    pid = principal.id
    if "email" not in document or not isinstance(document.get("emailHash"), str):
        raise InvalidUserDocument("A stored user has no email address.")
    email_verified = document.get("emailVerified", False)
    password_hash = document.get("passwordHash")
    if not isinstance(email_verified, bool):
        raise InvalidUserDocument("A stored user has a malformed email verification flag.")
    if password_hash is not None and not isinstance(password_hash, str):
        raise InvalidUserDocument("A stored user has a malformed password entry.")
    two_factor = document.get("twoFactor", {})
    if not isinstance(two_factor, dict):
        raise InvalidUserDocument("A stored user has malformed two-factor settings.")
    methods = _methods(two_factor.get("methods", []))
    preferred = _preferred(two_factor.get("preferred"), methods)
    totp = None
    if TwoFactorMethod.TOTP in methods:
        totp = _totp_state(two_factor.get("totp"), pid, cipher)
    return Principal(
        id=pid,
        kind=principal.kind,
        roles=principal.roles,
        name=principal.name,
        created_at=principal.created_at,
        last_active=principal.last_active,
        step_up_generation=principal.step_up_generation,
        locale=principal.locale,
        email=cipher.decrypt(document["email"], sealed_context(pid, "email")),
        email_verified=email_verified,
        password_hash=password_hash,
        methods=methods,
        preferred_method=preferred,
        totp=totp,
        step_up_attempts=step_up_attempts_from(document),
        security_changes=change_count_from(document),
    )


def _methods(value: object) -> tuple[TwoFactorMethod, ...]:
    if not isinstance(value, list):
        raise InvalidUserDocument("A stored user has malformed two-factor methods.")
    try:
        methods = tuple(TwoFactorMethod(item) for item in value)
    except ValueError:
        raise InvalidUserDocument("A stored user has an unknown two-factor method.") from None
    if len(set(methods)) != len(methods):
        raise InvalidUserDocument("A stored user lists a two-factor method twice.")
    return methods


def _preferred(value: object, methods: tuple[TwoFactorMethod, ...]) -> TwoFactorMethod | None:
    if value is None:
        if methods:
            raise InvalidUserDocument("A stored user has two-factor methods but no preferred one.")
        return None
    if value not in methods:
        raise InvalidUserDocument("A stored user prefers a two-factor method that is not enabled.")
    return TwoFactorMethod(str(value))


def _totp_state(value: object, pid: str, cipher: FieldCipher) -> TotpState:
    if not isinstance(value, dict) or "secret" not in value:
        raise InvalidUserDocument("A stored user has TOTP enabled without a secret.")
    last_used_step = value.get("lastUsedStep", 0)
    codes = value.get("recoveryCodes", [])
    enabled_at = value.get("enabledAt")
    if not _is_count(last_used_step):
        raise InvalidUserDocument("A stored user has a malformed TOTP time step.")
    if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
        raise InvalidUserDocument("A stored user has malformed recovery codes.")
    return TotpState(
        secret=cipher.decrypt(value["secret"], sealed_context(pid, TOTP_SECRET_FIELD)),
        last_used_step=last_used_step,
        recovery_code_hashes=tuple(codes),
        # Documents written before the enabling time was kept have none: that is not an error.
        enabled_at=enabled_at if isinstance(enabled_at, datetime) else None,
    )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
