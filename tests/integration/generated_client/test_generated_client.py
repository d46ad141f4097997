"""The whole public flow through the generated Python client, against the live server.

Only what the generator produced is used (functions, models, ``Client``/``AuthenticatedClient``
and their documented options); every error answer is checked by its typed problem ``code``."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import uuid4

import pyotp

from tests.support.api import PASSWORD, Api
from tests.support.smtp import SmtpSink

README = Path(__file__).resolve().parents[3] / "README.md"


def api(package: ModuleType, module: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{module}")


def mailed_code(sink: SmtpSink, address: str, count: int) -> str:
    messages = sink.wait_for(address, count)
    assert len(messages) >= count
    text = messages[-1].get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


class Flow:
    """One user driven through the generated client."""

    def __init__(self, package: ModuleType, live: Api, sink: SmtpSink) -> None:
        self.pkg, self.live, self.sink = package, live, sink
        self.m = importlib.import_module(f"{package.__name__}.models")
        self.base_url = str(live.http.base_url).rstrip("/")
        self.email = f"gen-{uuid4().hex[:12]}@example.com"
        self.secret = ""
        self.mails = 0
        self.clients: list[Any] = []

    def opened(self, client: Any) -> Any:
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.get_httpx_client().close()

    def anonymous(self) -> Any:
        return self.opened(self.pkg.Client(base_url=self.base_url))

    def signed_in(self, access: str) -> Any:
        return self.opened(self.pkg.AuthenticatedClient(base_url=self.base_url, token=access))

    def totp_code(self) -> str:
        # Each code is single use: move the server's clock to the next time step first.
        self.live.clock.advance(30)
        return str(pyotp.TOTP(self.secret).at(self.live.clock.now().timestamp()))

    def step_up(self, client: Any) -> str:
        """A step-up token: password, then the second factor if one is enabled."""
        step_up = api(self.pkg, "auth.handlers_auth_step_up")
        two_factor = api(self.pkg, "two_factor.handlers_two_factor_step_up_with_second_factor")
        first = step_up.sync(client=client, body=self.m.StepUpRequest(password=PASSWORD))
        assert isinstance(first, self.m.StepUpResponse), first
        if not first.two_factor_required:
            return str(first.step_up_token)
        if "totp" in [str(m.value) for m in first.two_factor_methods]:
            proof = self.m.SecondFactorProof(totp=self.totp_code())
        else:
            send = api(self.pkg, "email_2fa.handlers_email_2fa_send_code")
            sent = send.sync_detailed(
                client=client, x_two_factor_authentication_token=first.two_factor_token
            )
            assert sent.status_code == 200, sent.content
            self.mails += 1
            proof = self.m.SecondFactorProof(email=mailed_code(self.sink, self.email, self.mails))
        done = two_factor.sync(
            client=client, body=proof, x_two_factor_authentication_token=first.two_factor_token
        )
        assert isinstance(done, self.m.StepUpResponse), done
        return str(done.step_up_token)


def test_the_whole_public_flow_through_the_generated_client(
    client_package: ModuleType, live_api: Api, smtp_sink: SmtpSink
) -> None:
    flow = Flow(client_package, live_api, smtp_sink)
    try:
        drive_the_whole_flow(flow, client_package, smtp_sink)
    finally:
        flow.close()


def drive_the_whole_flow(flow: Flow, pkg: ModuleType, smtp_sink: SmtpSink) -> None:
    m = flow.m
    register = api(pkg, "auth.handlers_auth_register")
    login = api(pkg, "auth.handlers_auth_login")
    login_2fa = api(pkg, "two_factor.handlers_two_factor_login_with_second_factor")
    begin = api(pkg, "totp.handlers_totp_begin_setup")
    confirm = api(pkg, "totp.handlers_totp_confirm_setup")
    disable = api(pkg, "totp.handlers_totp_disable_totp")
    recover = api(pkg, "totp.handlers_totp_recover")
    send = api(pkg, "email_2fa.handlers_email_2fa_send_code")
    enable_email = api(pkg, "email_2fa.handlers_email_2fa_enable")
    logout = api(pkg, "auth.handlers_auth_logout")
    guests = api(pkg, "guests.handlers_guests_create_guest")
    step_up = api(pkg, "auth.handlers_auth_step_up")

    # Register, then the same address again: 409 with its typed code.
    new = m.RegisterRequest(email=flow.email, password=PASSWORD, name="Ada Lovelace")
    assert isinstance(register.sync(client=flow.anonymous(), body=new), m.PrincipalResponse)
    again = register.sync(client=flow.anonymous(), body=new)
    assert str(again.code) == "EMAIL_ALREADY_REGISTERED"

    signed = login.sync(client=flow.anonymous(), body=m.LoginRequest(flow.email, PASSWORD))
    assert isinstance(signed, m.LoginResponse)
    assert not signed.two_factor_required
    client = flow.signed_in(str(signed.access_token))

    # TOTP setup: GET, then POST with a code pyotp computes; the step-up token per call.
    token = flow.step_up(client)
    setup = begin.sync(client=client, x_step_up_token=token)
    assert isinstance(setup, m.TotpSetupResponse), setup
    flow.secret, recovery_codes = setup.secret, setup.recovery_codes
    confirmation = m.TotpSetupConfirmation(token=setup.token, code=flow.totp_code())
    enabled = confirm.sync(client=client, body=confirmation, x_step_up_token=token)
    assert isinstance(enabled, m.PrincipalResponse), enabled

    # 2FA login: the pending token through the documented client options, no Bearer prefix.
    pending = login.sync(client=flow.anonymous(), body=m.LoginRequest(flow.email, PASSWORD))
    assert pending.two_factor_required
    pending_client = flow.opened(
        pkg.AuthenticatedClient(
            base_url=flow.base_url,
            token=str(pending.two_factor_token),
            auth_header_name="X-Two-Factor-Authentication-Token",
            prefix="",
        )
    )
    proof = m.SecondFactorProof(totp=flow.totp_code())
    second = login_2fa.sync(client=pending_client, body=proof)
    assert isinstance(second, m.LoginResponse), second
    assert second.access_token
    client = flow.signed_in(str(second.access_token))

    # Email codes: send, then enable with the code from the mail (2FA step-up first).
    token = flow.step_up(client)
    assert send.sync_detailed(client=client).status_code == 200
    flow.mails += 1
    code = mailed_code(smtp_sink, flow.email, flow.mails)
    wrong = enable_email.sync(
        client=client, body=m.EmailCodeRequest(code="000000"), x_step_up_token=token
    )
    assert str(wrong.code) == "INVALID_TWO_FACTOR_CODE"
    email_on = enable_email.sync(
        client=client, body=m.EmailCodeRequest(code=code), x_step_up_token=token
    )
    assert isinstance(email_on, m.PrincipalResponse), email_on

    # Recovery: a lost authenticator; the answer carries a session and a step-up token.
    pending = login.sync(client=flow.anonymous(), body=m.LoginRequest(flow.email, PASSWORD))
    recovered = recover.sync(
        client=flow.anonymous(),
        body=m.RecoveryRequest(code=recovery_codes[0]),
        x_two_factor_authentication_token=pending.two_factor_token,
    )
    assert isinstance(recovered, m.RecoveryResponse), recovered
    client = flow.signed_in(recovered.access_token)

    # The core operation: 401 without a step-up token, 400 on a bad locale, 200, then 304.
    missing = disable.sync(client=client)
    assert str(missing.code) == "STEP_UP_TOKEN_MISSING"
    bad = disable.sync(client=client, locale="x" * 40, x_step_up_token=recovered.step_up_token)
    assert str(bad.code) == "INVALID_REQUEST"
    done = disable.sync(client=client, x_step_up_token=recovered.step_up_token)
    assert isinstance(done, m.PrincipalResponse), done
    repeat = disable.sync_detailed(client=client, x_step_up_token=flow.step_up(client))
    assert repeat.status_code == 304
    assert repeat.headers["X-Error-Code"] == "TWO_FACTOR_METHOD_ALREADY_DISABLED"

    # 404: a guest has no account to change; its step-up sends no body at all.
    guest = guests.sync(client=flow.anonymous(), body=m.GuestRequest(name="Guest"))
    guest_client = flow.signed_in(guest.access_token)
    guest_step_up = step_up.sync(client=guest_client)
    assert isinstance(guest_step_up, m.StepUpResponse), guest_step_up
    absent = disable.sync(client=guest_client, x_step_up_token=guest_step_up.step_up_token)
    assert str(absent.code) == "USER_NOT_FOUND"

    # Logout ends the session: the same access token is refused afterwards.
    assert logout.sync_detailed(client=client).status_code == 204
    assert str(disable.sync(client=client).code) == "ACCESS_TOKEN_EXPIRED"


def test_a_problem_code_the_spec_does_not_list_is_parsed_without_error(
    client_package: ModuleType,
) -> None:
    # A server newer than the client may answer a code this spec does not know yet.
    models = importlib.import_module(f"{client_package.__name__}.models")
    body = {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "A newer server's reason.",
        "instance": "/api/auth/2fa/totp",
        "code": "SOME_CODE_ADDED_LATER",
        "timestamp": "2026-11-28T12:00:00Z",
        "requestId": "3f1c2a9e6b7d4e8f",
    }
    parsed = models.HandlersTotpDisableTotpResponse400.from_dict(body)
    assert parsed.code == "SOME_CODE_ADDED_LATER"


def test_the_readme_snippet_runs_against_the_live_server(
    client_package: ModuleType, live_api: Api
) -> None:
    section = README.read_text().split("## Generated clients", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S)
    assert snippet, "README: no python snippet under 'Generated clients'"
    scope: dict[str, Any] = {"BASE_URL": str(live_api.http.base_url).rstrip("/")}
    exec(compile(snippet.group(1), str(README), "exec"), scope)  # noqa: S102
    assert scope["answer"].status_code == 401
    assert scope["problem"].code == "ACCESS_TOKEN_INVALID"
