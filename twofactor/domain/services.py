"""The use cases of the service, as the HTTP adapter and the command line reach them.

The composition root (``twofactor.wiring``) builds one ``Services`` per process; callers only
see domain types, never the store or the mailer behind them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from twofactor.domain.accounts import AccountService
from twofactor.domain.alert_delivery import AlertDelivery
from twofactor.domain.authentication import AuthenticationService
from twofactor.domain.email_codes import EmailCodeService
from twofactor.domain.enrollment import EnrollmentService
from twofactor.domain.second_factors import SecondFactorService
from twofactor.domain.sessions import SessionService
from twofactor.domain.two_factor_auth import TwoFactorAuthService
from twofactor.security.tokens import TokenService


class Readiness(Protocol):
    def check(self) -> Mapping[str, bool]:
        """Whether each component the service needs (``database``, ``allowlist``, ``mail``)
        answers now; the service is ready when all do."""
        ...


@dataclass(frozen=True)
class Services:
    tokens: TokenService
    sessions: SessionService
    accounts: AccountService
    authentication: AuthenticationService
    second_factors: SecondFactorService
    enrollment: EnrollmentService
    two_factor: TwoFactorAuthService
    email_codes: EmailCodeService
    alerts: AlertDelivery
    readiness: Readiness
