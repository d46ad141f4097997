"""The benchmark a user runs: ``make bench`` (``python -m bench``); see ``bench/README.md``."""
