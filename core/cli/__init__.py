"""The `steward` command: the same core functions the app uses, for pipelines and cron.

Each area keeps its commands in its own module here, registered on ``app`` (``core.cli.app``)
when the module is imported; the imports below load them all, in the order `steward --help`
lists them (add yours there). Every command exits non-zero with one clear message on error
(see ``common.run``), and ``--json`` gives machine-readable output.
"""

from __future__ import annotations

from core.cli.app import app

# isort: off
from core.cli import registry, inventory, operations, integrations, governance  # noqa: F401
from core.cli import monitoring_drift, monitoring, governance_review, insight  # noqa: F401
from core.cli import segments  # noqa: F401
from core.cli import notify  # noqa: F401
from core.cli import tokens  # noqa: F401
from core.cli import logstore  # noqa: F401
from core.cli import apply  # noqa: F401
# isort: on

__all__ = ["app", "main"]


def main() -> None:
    app()
