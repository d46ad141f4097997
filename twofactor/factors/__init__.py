"""The second factors, one module each, behind ``twofactor.domain.factor.SecondFactor``.

``registry`` is the one place that lists them: a new factor is a new module here and a line in
``registry``.
"""

from __future__ import annotations

from twofactor.domain.factor import FactorRegistry
from twofactor.domain.model import TwoFactorMethod
from twofactor.domain.ports import PrincipalRepository
from twofactor.factors.email_codes import EmailCodeFactor
from twofactor.factors.recovery_codes import RecoveryCodeFactor
from twofactor.factors.totp import TotpFactor
from twofactor.security.recovery_codes import RecoveryCodeHasher


def registry(
    principals: PrincipalRepository, recovery_codes: RecoveryCodeHasher, hash_key: bytes
) -> FactorRegistry:
    return FactorRegistry(
        methods={
            TwoFactorMethod.TOTP: TotpFactor(principals),
            TwoFactorMethod.EMAIL: EmailCodeFactor(principals, hash_key),
        },
        recovery=RecoveryCodeFactor(principals, recovery_codes),
    )
