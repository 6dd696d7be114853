"""Operator subcommands contributed by the rooms (faq, nlu, broadcasts, staff, notices). Wired in one place."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the rooms' subcommands to the `civicbot` parser."""
    return None
