"""Creating accounts (users and guests) and reading the current principal."""

from __future__ import annotations

from dataclasses import dataclass

from bson import ObjectId

from twofactor.clock import Clock
from twofactor.domain.model import Principal, RequestInfo
from twofactor.domain.sessions import ClientInfo, SessionService, SessionTokens
from twofactor.errors import UserNotFound
from twofactor.security.crypto import EmailHasher
from twofactor.security.passwords import PasswordHasher
from twofactor.store.documents import new_guest_document, new_user_document
from twofactor.store.principals import PrincipalStore


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    name: str


class AccountService:
    def __init__(
        self,
        principals: PrincipalStore,
        sessions: SessionService,
        passwords: PasswordHasher,
        email_hash: EmailHasher,
        clock: Clock,
    ) -> None:
        self._principals = principals
        self._sessions = sessions
        self._passwords = passwords
        self._email_hash = email_hash
        self._clock = clock

    def register(self, registration: Registration) -> Principal:
        principal_id = ObjectId()
        self._principals.insert(
            new_user_document(
                principal_id,
                name=registration.name.strip(),
                email=registration.email.strip(),
                email_hash=self._email_hash(registration.email),
                password_hash=self._passwords.hash(registration.password),
                now=self._clock.now(),
                cipher=self._principals.cipher,
            )
        )
        return self.require(str(principal_id))

    def create_guest(
        self, name: str, client: ClientInfo, request: RequestInfo
    ) -> tuple[Principal, SessionTokens]:
        principal_id = ObjectId()
        self._principals.insert(
            new_guest_document(
                principal_id,
                name=name.strip(),
                now=self._clock.now(),
                cipher=self._principals.cipher,
            )
        )
        principal = self.require(str(principal_id))
        return principal, self._sessions.start(principal, client, request)

    def require(self, principal_id: str) -> Principal:
        principal = self._principals.get(principal_id)
        if principal is None:
            raise UserNotFound()
        return principal
