"""The service's one exception tree.

Every error the service answers with is one of these classes. Each class carries the stable
``code`` clients switch on, the HTTP ``status`` and the reason-phrase ``title``; it is raised where
the problem is detected and rendered into ``application/problem+json`` by one error handler (the
HTTP adapter's problem renderer). ``detail`` is always safe to show: no internals, secrets or
tokens.

    ServiceError
    ├── NotModified (304, no body: the code travels in ``X-Error-Code``)
    │   ├── TwoFactorMethodAlreadyDisabled
    │   └── TwoFactorMethodAlreadyEnabled
    ├── ClientError (4xx)
    │   ├── InvalidRequest (400)
    │   ├── CannotDisableOnlyTwoFactorMethod (400)
    │   ├── NoPasswordProvider (400)
    │   ├── InvalidTwoFactorCode (400), InvalidTotpSetupToken (400)
    │   ├── InvalidEmailAddress (400), InvalidName (400)
    │   ├── Unauthorized (401)
    │   │   ├── AuthenticationRequired, InvalidCredentials
    │   │   ├── AccessTokenInvalid, AccessTokenExpired
    │   │   ├── StepUpTokenMissing, StepUpTokenInvalid, StepUpTokenExpired
    │   │   ├── TwoFactorTokenMissing, TwoFactorTokenInvalid, TwoFactorTokenExpired
    │   │   └── RefreshTokenInvalid, RefreshTokenExpired
    │   ├── UserNotFound (404)
    │   ├── EmailAlreadyRegistered (409), EmailAddressUnusable (409)
    │   └── TooManyRequests (429, always with ``Retry-After``): a budget is spent
    │       └── TooManyAttempts: a budget of guesses (passwords, codes) is spent
    └── ServerError (5xx)
        ├── InternalError (500)
        ├── AllowlistReadingFailure (500)
        ├── DatabaseFailure (500)
        ├── DatabaseEncryptionFailure (500)
        ├── HashFailure (500)
        ├── InvalidUserDocument (500)
        ├── InvalidPrincipalDocument (500)
        ├── PostCommitSideEffectFailure (500)
        └── ServiceUnavailable (503)
            └── EmailDisabled

The 401 family also exposes ``status_code``: Connexion picks which security error to raise
among several failed alternatives by that attribute.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import ClassVar


class ServiceError(Exception):
    """Base of every error the service answers with."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500
    default_detail: ClassVar[str] = "The request could not be completed."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


class NotModified(ServiceError):
    status = 304


class TwoFactorMethodAlreadyDisabled(NotModified):
    code = "TWO_FACTOR_METHOD_ALREADY_DISABLED"
    default_detail = "This two-factor method is not enabled."


class TwoFactorMethodAlreadyEnabled(NotModified):
    code = "TWO_FACTOR_METHOD_ALREADY_ENABLED"
    default_detail = "This two-factor method is already enabled."


class ClientError(ServiceError):
    status = 400


class InvalidRequest(ClientError):
    code = "INVALID_REQUEST"
    default_detail = "The request is not valid."


class CannotDisableOnlyTwoFactorMethod(ClientError):
    code = "CANNOT_DISABLE_ONLY_TWO_FACTOR_METHOD"
    default_detail = (
        "This is your only two-factor method. Enable another method before disabling this one."
    )


class NoPasswordProvider(ClientError):
    code = "NO_PASSWORD_PROVIDER"
    default_detail = "This account has no password, so its two-factor methods cannot be changed."


class InvalidTwoFactorCode(ClientError):
    code = "INVALID_TWO_FACTOR_CODE"
    default_detail = "The code is not correct or has expired."


class InvalidTotpSetupToken(ClientError):
    code = "INVALID_TOTP_SETUP_TOKEN"
    default_detail = "The TOTP setup token is not valid or has expired. Start the setup again."


class Unauthorized(ClientError):
    status = 401
    code = "AUTHENTICATION_REQUIRED"
    #: The ``WWW-Authenticate`` challenge sent with the answer.
    challenge: ClassVar[str] = 'Bearer realm="twofactor-api"'


class AuthenticationRequired(Unauthorized):
    code = "AUTHENTICATION_REQUIRED"
    default_detail = "This operation needs an access token."


class InvalidCredentials(Unauthorized):
    code = "INVALID_CREDENTIALS"
    default_detail = "The email address or password is not correct."


class AccessTokenInvalid(Unauthorized):
    code = "ACCESS_TOKEN_INVALID"
    default_detail = "The access token is not valid."
    challenge = 'Bearer realm="twofactor-api", error="invalid_token"'


class AccessTokenExpired(Unauthorized):
    code = "ACCESS_TOKEN_EXPIRED"
    default_detail = "The access token has expired or was revoked. Sign in again."
    challenge = 'Bearer realm="twofactor-api", error="invalid_token"'


class StepUpTokenMissing(Unauthorized):
    code = "STEP_UP_TOKEN_MISSING"
    default_detail = "This operation needs a recent step-up confirmation (X-Step-Up-Token)."
    challenge = 'StepUp realm="twofactor-api"'


class StepUpTokenInvalid(Unauthorized):
    code = "STEP_UP_TOKEN_INVALID"
    default_detail = "The step-up token is not valid for this session or was already used."
    challenge = 'StepUp realm="twofactor-api", error="invalid_token"'


class StepUpTokenExpired(Unauthorized):
    code = "STEP_UP_TOKEN_EXPIRED"
    default_detail = "The step-up token has expired. Confirm your identity again."
    challenge = 'StepUp realm="twofactor-api", error="invalid_token"'


class TwoFactorTokenMissing(Unauthorized):
    code = "TWO_FACTOR_TOKEN_MISSING"
    default_detail = "This operation needs a two-factor authentication token."


class TwoFactorTokenInvalid(Unauthorized):
    code = "TWO_FACTOR_TOKEN_INVALID"
    default_detail = "The two-factor authentication token is not valid."


class TwoFactorTokenExpired(Unauthorized):
    code = "TWO_FACTOR_TOKEN_EXPIRED"
    default_detail = "The two-factor authentication token has expired. Sign in again."


class RefreshTokenInvalid(Unauthorized):
    code = "REFRESH_TOKEN_INVALID"
    default_detail = "The refresh token is not valid. Sign in again."


class RefreshTokenExpired(Unauthorized):
    code = "REFRESH_TOKEN_EXPIRED"
    default_detail = "The refresh token has expired. Sign in again."


class UserNotFound(ClientError):
    status = 404
    code = "USER_NOT_FOUND"
    default_detail = "No user account belongs to this token."


class EmailAlreadyRegistered(ClientError):
    status = 409
    code = "EMAIL_ALREADY_REGISTERED"
    default_detail = "An account with this email address already exists."


class InvalidEmailAddress(ClientError):
    """The address of a request is refused by the address policy (``security.addresses``)."""

    code = "INVALID_EMAIL_ADDRESS"
    default_detail = "This is not a valid email address."


class InvalidName(ClientError):
    """A display name is refused by the name policy (``security.names``)."""

    code = "INVALID_NAME"
    default_detail = "The name is not valid."


class EmailAddressUnusable(ClientError):
    """The account's stored address (from before addresses were validated) cannot be mailed."""

    status = 409
    code = "EMAIL_ADDRESS_UNUSABLE"
    default_detail = (
        "The email address of this account cannot receive mail, so no code was sent. "
        "Use another second factor or contact support."
    )


class TooManyRequests(ClientError):
    """A budget of requests is spent (registrations, guests, security changes per user)."""

    status = 429
    code = "TOO_MANY_REQUESTS"
    default_detail = "Too many requests. Wait before trying again."

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        #: Seconds until the next attempt may succeed (the ``Retry-After`` header), at least 1.
        self.retry_after = max(1, retry_after)


class TooManyAttempts(TooManyRequests):
    """A budget of guesses is spent: passwords, second-factor codes, or the email code resend."""

    code = "TOO_MANY_ATTEMPTS"
    default_detail = "Too many attempts. Wait before trying again."


class ServerError(ServiceError):
    status = 500


class InternalError(ServerError):
    code = "INTERNAL_ERROR"
    default_detail = "An unexpected error occurred. It was logged; please try again later."


class AllowlistReadingFailure(ServerError):
    code = "ACCESS_TOKEN_ALLOWLIST_READING_FAILURE"
    default_detail = "The access token could not be checked right now. Please try again later."


class DatabaseFailure(ServerError):
    code = "DATABASE_FAILURE"
    default_detail = "The account store is not available right now. Please try again later."


class DatabaseEncryptionFailure(ServerError):
    code = "DATABASE_ENCRYPTION_FAILURE"
    default_detail = "Stored account data could not be decrypted."


class HashFailure(ServerError):
    code = "HASH_FAILURE"
    default_detail = "The stored password data of this account could not be read."


class InvalidUserDocument(ServerError):
    code = "INVALID_USER_DOCUMENT"
    default_detail = "The stored user account data is not consistent."


class InvalidPrincipalDocument(ServerError):
    code = "INVALID_PRINCIPAL_DOCUMENT"
    default_detail = "The stored account data is malformed."


class PostCommitSideEffectFailure(ServerError):
    code = "POST_COMMIT_SIDE_EFFECT_FAILURE"
    default_detail = (
        "Your change was saved, but the security alert email could not be sent yet. "
        "It will be retried automatically."
    )


class ServiceUnavailable(ServerError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
    default_detail = "The service is not ready."


class EmailDisabled(ServiceUnavailable):
    code = "EMAIL_DISABLED"
    default_detail = "Email is not enabled on this service."
