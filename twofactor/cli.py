"""``twofactor-api serve [--host --port --workers]`` (also ``python -m twofactor serve``)."""

from __future__ import annotations

import argparse
import sys

from twofactor.config import ConfigError, Settings, load_settings_from_environment
from twofactor.logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twofactor-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    alerts = commands.add_parser("alerts", help="security alert outbox")
    alert_commands = alerts.add_subparsers(dest="alerts_command", required=True)
    alert_commands.add_parser(
        "retry", help="send every queued alert now, whatever its backoff (one pass)"
    )
    arguments = parser.parse_args(argv)
    try:
        settings = load_settings_from_environment()
        configure_logging(settings.log_format)
        if arguments.command == "alerts":
            return _retry_alerts(settings)
        return _serve(settings, arguments.host, arguments.port, arguments.workers)
    except ConfigError as error:
        print(f"twofactor-api: configuration error: {error}", file=sys.stderr)
        return 2


def _serve(settings: Settings, host: str | None, port: int | None, workers: int) -> int:
    # Imported here so that ``--help`` stays fast and configuration errors come first.
    from twofactor import local_mode, serving

    def serve_with_database() -> int:
        prepared, database = local_mode.prepare(settings)
        try:
            return serving.serve(
                prepared,
                host=host or prepared.host,
                port=port if port is not None else prepared.port,
                workers=workers,
            )
        finally:
            if database is not None:
                database.stop()

    return serving.run_until_stopped(serve_with_database)


def _retry_alerts(settings: Settings) -> int:
    from twofactor import local_mode
    from twofactor.clock import SystemClock
    from twofactor.wiring import build_runtime

    settings, database = local_mode.prepare(settings)
    runtime = build_runtime(settings, SystemClock())
    try:
        report = runtime.services.alerts.deliver_due(ignore_backoff=True)
    finally:
        runtime.close()
        if database is not None:
            database.stop()
    print(f"alerts: {report.sent} sent, {report.failed} failed, {report.dropped} dropped")
    return 1 if report.failed else 0
