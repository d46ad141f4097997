"""``/api/metrics`` of the app in-process: requests by operation, status and code, throttled
requests by budget and security alerts by outcome, as the real flows count them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import Api


def scraped(api: Api, name: str, **labels: str) -> float:
    response = api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def test_requests_are_counted_by_operation_status_and_code(api: Api) -> None:
    labels = {
        "operation": "handlers.users.get_me",
        "status": "401",
        "code": "AUTHENTICATION_REQUIRED",
    }
    before = scraped(api, "twofactor_http_requests_total", **labels)

    api.http.get("/users/me")
    api.http.get("/users/me")
    api.http.get("/no/such/path/6b1f")

    assert scraped(api, "twofactor_http_requests_total", **labels) == before + 2
    assert scraped(api, "twofactor_http_requests_total", operation="unmatched", status="404") >= 1
    assert "/no/such/path" not in api.http.get("/metrics").text  # never a raw path
    assert scraped(api, "twofactor_http_request_duration_seconds_count") > 0


def test_a_spent_sign_in_budget_counts_one_throttled_request(api: Api) -> None:
    _, email = api.register()
    before = scraped(api, "twofactor_throttled_requests_total")

    for _ in range(50):  # wrong passwords until the account's budget is spent
        answer = api.http.post("/auth/login", json={"email": email, "password": "not it"})
        if answer.status_code == 429:
            break

    assert answer.status_code == 429
    assert scraped(api, "twofactor_throttled_requests_total") == before + 1


def test_a_sent_security_alert_is_counted_queued_and_sent(api: Api) -> None:
    account = api.account(methods=("totp", "email"))
    queued = scraped(api, "twofactor_security_alerts_total", event="queued")
    sent = scraped(api, "twofactor_security_alerts_total", event="sent")

    removed = api.http.delete("/auth/2fa/totp", headers=account.headers())

    assert removed.status_code == 200, removed.text
    assert scraped(api, "twofactor_security_alerts_total", event="queued") == queued + 1
    assert scraped(api, "twofactor_security_alerts_total", event="sent") == sent + 1
