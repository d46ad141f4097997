"""Swagger UI in a real browser: Debian's Chromium, headless, driven by Playwright.

A person exploring the API authorizes with an access token and a step-up token, tries
``DELETE /auth/2fa/totp`` and must see the service's real answer. Playwright's own browser
downloads are not used (this machine cannot fetch them): it drives the Chromium of the Debian
package (``/usr/bin/chromium``, installed by ``make test``) through ``executable_path``. The page
and its assets come from the service itself (Connexion's bundled Swagger UI): a request to any
other origin is refused and fails the test. A screenshot of each answer is kept in
``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.support.api import Account, Api
from twofactor.security.crypto import sealed_context
from twofactor.store.changes import TOTP_SECRET_FIELD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
# Chromium's own outbound connections (updates, sync, safe browsing) are refused on a closed
# network and slow every start down; the sandbox needs user namespaces that CI may not have.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    with sync_playwright() as playwright:
        # Headless, with a new empty profile of Playwright's own for each launch.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live_api: Api) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    ui = str(live_api.http.base_url).rstrip("/") + "/ui/"
    origin = urlsplit(ui).netloc
    foreign: list[str] = []

    def same_origin_only(route: Route) -> None:
        # Swagger UI must work offline: its scripts, styles and the spec come from the service.
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", same_origin_only)
    opened = context.new_page()
    opened.set_default_timeout(UI_TIMEOUT_MS)
    opened.goto(ui)
    expect(opened.locator(".information-container .title")).to_contain_text("twofactor-api")
    yield opened
    context.close()
    assert foreign == [], f"Swagger UI asked another origin for {foreign}"


def authorize(page: Page, tokens: dict[str, str]) -> None:
    """Fill the Authorize dialog: each scheme by name, then close it."""
    page.locator("button.authorize").first.click()
    dialog = page.locator(".modal-ux")
    for scheme, value in tokens.items():
        # The scheme's name exactly: "accessToken" must not pick "accessTokenCookie".
        name = page.locator("h4 code", has_text=re.compile(f"^{scheme}$"))
        container = dialog.locator(".auth-container").filter(has=name)
        container.locator("input").fill(value)
        container.locator("button.authorize").click()
        expect(container.get_by_role("button", name="Logout")).to_be_visible()
    dialog.locator("button.btn-done").first.click()
    expect(dialog).to_have_count(0)


def try_it_out(
    page: Page, method: str, path: str, body: dict[str, str] | None = None
) -> tuple[str, dict[str, object]]:
    """Try it out on one operation (with ``body`` as its JSON request body); the status and the
    body the UI shows."""
    operation = page.locator(f".opblock-{method}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    if body is not None:
        operation.locator("textarea.body-param__text").fill(json.dumps(body))
    operation.locator("button.execute").click()
    live = operation.locator(".live-responses-table .response")
    expect(live.locator(".response-col_status")).to_have_text(re.compile(r"^\s*\d{3}\s*$"))
    status = live.locator(".response-col_status").inner_text().strip()
    shown = live.locator(".response-col_description pre").first.inner_text()
    # The answer in view for the screenshot: the request URL, the status and the body.
    operation.locator(".request-url").scroll_into_view_if_needed()
    return status, json.loads(shown)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def current_totp_code(live_api: Api, account: Account) -> str:
    """The code an authenticator app shows now for the TOTP secret the seeding stored."""
    sealed = live_api.document(account.id)["twoFactor"]["totp"]["secret"]
    secret = live_api.cipher.decrypt(sealed, sealed_context(account.id, TOTP_SECRET_FIELD))
    return str(pyotp.TOTP(secret).at(live_api.clock.now()))


def test_authorized_try_it_out_disables_totp_and_shows_the_principal(
    page: Page, live_api: Api
) -> None:
    account: Account = live_api.account(("totp", "email"))
    authorize(page, {"accessToken": account.access_token, "stepUpToken": account.step_up_token})

    status, body = try_it_out(page, "delete", "/auth/2fa/totp")

    assert screenshot(page, "swagger-ui-disable-totp-200").stat().st_size > 0
    assert status == "200"
    assert body["id"] == account.id
    assert body["twoFactorMethods"] == ["email"]
    assert live_api.document(account.id)["twoFactor"]["methods"] == ["email"]


def test_a_step_up_token_typed_into_its_cookie_scheme_is_not_sent_and_the_ui_shows_the_401(
    page: Page, live_api: Api
) -> None:
    # Swagger UI offers a value field for the cookie schemes and puts the cookie in its curl
    # line, but a page's script may not set a Cookie header: the browser drops it.
    account = live_api.account(("totp", "email"))
    authorize(
        page, {"accessToken": account.access_token, "stepUpTokenCookie": account.step_up_token}
    )

    status, body = try_it_out(page, "delete", "/auth/2fa/totp")

    screenshot(page, "swagger-ui-disable-totp-401")
    operation = page.locator('.opblock-delete:has([data-path="/auth/2fa/totp"])')
    curl = operation.locator(".curl-command").inner_text()
    assert f"Cookie: step_up_token={account.step_up_token}" in curl
    assert status == "401"
    assert body["code"] == "STEP_UP_TOKEN_MISSING"
    assert sorted(live_api.document(account.id)["twoFactor"]["methods"]) == ["email", "totp"]


def test_a_step_up_tried_out_in_swagger_ui_authorizes_the_change_through_its_cookies(
    page: Page, live_api: Api
) -> None:
    # Only the access token is filled in: the pending-2FA and the step-up tokens travel in the
    # HttpOnly cookies the answers set, which the page cannot read and the browser sends itself.
    account = live_api.account(("totp", "email"))
    authorize(page, {"accessToken": account.access_token})

    pending_status, pending = try_it_out(
        page, "post", "/auth/step-up", {"password": account.password}
    )
    assert (pending_status, pending["twoFactorRequired"]) == ("200", True)
    proof_status, proven = try_it_out(
        page, "post", "/auth/2fa/step-up", {"totp": current_totp_code(live_api, account)}
    )
    assert proof_status == "200", proven
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["step_up_token"]["httpOnly"]
    assert page.evaluate("document.cookie") == ""

    status, body = try_it_out(page, "delete", "/auth/2fa/totp")

    screenshot(page, "swagger-ui-disable-totp-200-cookies")
    assert status == "200", body
    assert body["twoFactorMethods"] == ["email"]
    assert live_api.document(account.id)["twoFactor"]["methods"] == ["email"]
