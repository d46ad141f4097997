"""``python -m handlers serve`` runs the same command line as ``twofactor-api``."""

from handlers.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
