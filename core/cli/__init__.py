"""The `steward` command: the same core functions the app uses, for pipelines and cron.

Each area keeps its commands in its own module here and registers them on ``app`` when
imported; ``COMMAND_MODULES`` lists them. Every command exits non-zero with one clear
message on error (see ``common.run``), and ``--json`` gives machine-readable output.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="steward",
    help="Steward: model governance and monitoring. Registry at STEWARD_DATABASE_URL (default data/steward.db).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that register commands on ``app``; add yours here.
COMMAND_MODULES = [
    "core.cli.registry",
    "core.cli.operations",
    "core.cli.integrations",
    "core.cli.governance",
    "core.cli.monitoring_drift",
    "core.cli.monitoring",
    "core.cli.governance_review",
    "core.cli.insight",
]


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)


def main() -> None:
    _load_commands()
    app()
