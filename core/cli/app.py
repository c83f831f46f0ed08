"""The `steward` Typer application, on which each command module registers its commands."""

from __future__ import annotations

import typer

from core.cli.common import global_options

app = typer.Typer(
    name="steward",
    help="Steward: model governance and monitoring. Registry at STEWARD_DATABASE_URL (default data/steward.db).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.callback()(global_options)  # --token-file: who a command acts as
