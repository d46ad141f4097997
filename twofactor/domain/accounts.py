"""Creating accounts (users and guests) and reading the current principal."""

from __future__ import annotations

from dataclasses import dataclass

from twofactor.clock import Clock
from twofactor.domain.model import ClientInfo, NewUser, Principal, RequestInfo
from twofactor.domain.ports import PrincipalRepository
from twofactor.domain.sessions import SessionService, SessionTokens
from twofactor.errors import InvalidEmailAddress, InvalidName, UserNotFound
from twofactor.security.addresses import AddressRefused, EmailAddress, parse_email_address
from twofactor.security.crypto import EmailHasher
from twofactor.security.names import NameRefused, parse_display_name
from twofactor.security.passwords import PasswordHasher


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    name: str


class AccountService:
    def __init__(
        self,
        principals: PrincipalRepository,
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
        address = email_address(registration.email)
        name = display_name(registration.name)
        principal_id = self._principals.create_user(
            NewUser(
                name=name,
                email=address.normalized,
                email_hash=self._email_hash(address),
                password_hash=self._passwords.hash(registration.password),
                created_at=self._clock.now(),
            )
        )
        return self.require(principal_id)

    def create_guest(
        self, name: str, client: ClientInfo, request: RequestInfo
    ) -> tuple[Principal, SessionTokens]:
        principal_id = self._principals.create_guest(display_name(name), self._clock.now())
        principal = self.require(principal_id)
        return principal, self._sessions.start(principal, client, request)

    def require(self, principal_id: str) -> Principal:
        principal = self._principals.get(principal_id)
        if principal is None:
            raise UserNotFound()
        return principal


def email_address(text: str) -> EmailAddress:
    """``text`` as an accepted address, or 400 ``INVALID_EMAIL_ADDRESS`` saying why not."""
    try:
        return parse_email_address(text)
    except AddressRefused as refused:
        raise InvalidEmailAddress(refused.detail) from None


def display_name(text: str) -> str:
    """``text`` as the name to store, or 400 ``INVALID_NAME`` saying why not."""
    try:
        return parse_display_name(text)
    except NameRefused as refused:
        raise InvalidName(str(refused)) from None
