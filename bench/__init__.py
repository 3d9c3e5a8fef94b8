"""`make bench` and friends: HTTP figures for the production server configuration (run.py),
and the benchmark's floor route (floor.py), which the product never imports."""

import sys


def say(message: str) -> None:
    """A progress line on stderr: stdout carries the figures only."""
    print(message, file=sys.stderr, flush=True)
