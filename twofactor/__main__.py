"""``python -m twofactor serve`` runs the same command line as ``twofactor-api``."""

from twofactor.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
