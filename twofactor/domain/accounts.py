"""Creating accounts (users and guests) and reading the current principal.

Both creations are counted per client address once the address and name are accepted, before
anything is hashed or stored, so a flood from one address costs neither CPU nor storage beyond
its budget. A request from an unknown address is not counted: one bucket for every such client
would refuse them all together.
"""

from __future__ import annotations

from dataclasses import dataclass

from twofactor.clock import Clock
from twofactor.domain.model import ClientInfo, NewUser, Principal, RequestInfo
from twofactor.domain.ports import PrincipalRepository
from twofactor.domain.sessions import SessionService, SessionTokens
from twofactor.domain.throttle import Throttle
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
        registrations: Throttle,
        guests: Throttle,
    ) -> None:
        self._principals = principals
        self._sessions = sessions
        self._passwords = passwords
        self._email_hash = email_hash
        self._clock = clock
        self._registrations = registrations
        self._guests = guests

    def register(self, registration: Registration, request: RequestInfo) -> Principal:
        address = email_address(registration.email)
        name = display_name(registration.name)
        # Every well-formed attempt counts, a taken address (409) too: each costs a password hash.
        _count_address(self._registrations, "register", request)
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
        self, raw_name: str, client: ClientInfo, request: RequestInfo
    ) -> tuple[Principal, SessionTokens]:
        name = display_name(raw_name)
        _count_address(self._guests, "guests", request)
        principal_id = self._principals.create_guest(name, self._clock.now())
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


def _count_address(budget: Throttle, kind: str, request: RequestInfo) -> None:
    if request.ip is not None:
        budget.reserve(f"{kind}-address:{request.ip}")
