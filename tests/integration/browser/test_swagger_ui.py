"""Swagger UI in a real browser: Debian's Chromium, headless, driven by Playwright.

A person exploring the API authorizes with an access token and a step-up token, tries
``DELETE /auth/2fa/totp`` and must see the service's real answer. Playwright's own browser
downloads are not used (this machine cannot fetch them): it drives the Chromium of the Debian
package (``/usr/bin/chromium``, installed by ``make test``) through ``executable_path``. The page
and its assets come from the service itself (Connexion's bundled Swagger UI), nothing from a CDN.
A screenshot of each answer is kept in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.api import Account, Api

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
    opened = context.new_page()
    opened.set_default_timeout(UI_TIMEOUT_MS)
    ui = str(live_api.http.base_url).rstrip("/") + "/ui/"
    opened.goto(ui)
    expect(opened.locator(".information-container .title")).to_contain_text("twofactor-api")
    yield opened
    context.close()


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


def try_disable_totp(page: Page) -> tuple[str, dict[str, object]]:
    """Try it out on DELETE /auth/2fa/totp; the status and the body the UI shows."""
    operation = page.locator(".opblock-delete").filter(
        has=page.locator('.opblock-summary-path[data-path="/auth/2fa/totp"]')
    )
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    live = operation.locator(".live-responses-table .response")
    expect(live.locator(".response-col_status")).to_have_text(re.compile(r"^\s*\d{3}\s*$"))
    status = live.locator(".response-col_status").inner_text().strip()
    body = live.locator(".response-col_description pre").first.inner_text()
    # The answer in view for the screenshot: the request URL, the status and the body.
    operation.locator(".request-url").scroll_into_view_if_needed()
    return status, json.loads(body)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def test_authorized_try_it_out_disables_totp_and_shows_the_principal(
    page: Page, live_api: Api
) -> None:
    account: Account = live_api.account(("totp", "email"))
    authorize(page, {"accessToken": account.access_token, "stepUpToken": account.step_up_token})

    status, body = try_disable_totp(page)

    assert screenshot(page, "swagger-ui-disable-totp-200").stat().st_size > 0
    assert status == "200"
    assert body["id"] == account.id
    assert body["twoFactorMethods"] == ["email"]
    assert live_api.document(account.id)["twoFactor"]["methods"] == ["email"]


def test_try_it_out_without_a_step_up_token_shows_the_401_problem(
    page: Page, live_api: Api
) -> None:
    account = live_api.account(("totp", "email"))
    authorize(page, {"accessToken": account.access_token})

    status, body = try_disable_totp(page)

    screenshot(page, "swagger-ui-disable-totp-401")
    assert status == "401"
    assert body["code"] == "STEP_UP_TOKEN_MISSING"
    assert sorted(live_api.document(account.id)["twoFactor"]["methods"]) == ["email", "totp"]
