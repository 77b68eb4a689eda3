"""What `digest bounces` prints: one line of counts, and one line per message kept aside."""

from __future__ import annotations

from typing import Any

import click

from digest.bounces.process import ProcessResult
from digest.fields import fields_of


def result_dict(result: ProcessResult) -> dict[str, Any]:
    counts = ("messages", "hard", "soft", "complaints", "duplicates", "unknown")
    return {
        **fields_of(result, counts),
        "unparsed": [{"message": name, "kept": kept} for name, kept in result.unparsed],
    }


def print_result(result: ProcessResult) -> None:
    click.echo(
        f"{result.messages} messages: {result.hard} hard bounces, {result.soft} soft bounces, "
        f"{result.complaints} complaints, {result.duplicates} already recorded"
        + (f", {result.unknown} about addresses not subscribed" if result.unknown else "")
    )
    for name, kept in result.unparsed:
        click.echo(f"not a bounce or complaint report: {name} (kept in {kept})", err=True)
