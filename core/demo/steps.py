"""Area steps run after the base demo portfolio is built (monitoring, governance, risk...).

Each entry is a function ``step(engine, context)``; ``build_demo`` calls them in list order, after
the base portfolio has been committed. A step opens its own transactions
(``write_session``), writes through its area's services, and derives every timestamp and
random draw from the context (``context["on"]``, ``context["at"]``, ``context["rng"]``) so that the
demo stays deterministic (tests/integration/test_demo.py compares two builds).

``context`` holds:

- ``seed`` (int), ``today`` (date), ``predictions_per_day`` (int)
- ``system``: the system ``Actor``; ``people``: persona email -> ``Actor`` (see ``core.demo.PERSONAS``;
  the leaver, Jan de Vries, is inactive by then and cannot act)
- ``models``: model name -> id; ``versions``: model name -> {version number -> version id}
- ``stages``: model name -> {version number -> final stage}; ``production_versions``: model name -> version id
- ``data_sources``: name -> id; ``processes``: business process name -> id
- ``at(days_ago, hour=9, minute=0)``: a UTC datetime ``days_ago`` days before ``today``
- ``on(days_ago, hour=9, minute=0)``: ``core.clock.frozen`` at that moment, for a ``with`` block: the
  rows and audit events written inside it carry the demo's date, not the day the demo was built
- ``rng(key: str)``: a numpy Generator seeded from the demo seed and ``key`` (use your area's name)

Append your step with a one-line edit (and its import).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from core.demo import governance, insight, monitoring, monitoring_drift, notify, risk

AREA_STEPS: list[Callable[[Engine, dict[str, Any]], Any]] = [
    monitoring_drift.populate,  # monthly drift runs: before health/alerts, which read them
    monitoring.populate,  # campaigns with a few labels, then health and alerts of every model
    risk.populate,  # risk, rules, meetings: best after the monitoring steps (its agenda reads alerts)
    insight.populate,  # fleet cost forecasts, budgets, global explanations of production versions
    governance.populate,  # promotion requests: last, so the stages and cards they froze stay put
    notify.populate,  # a retraining request from a drift alert; the history's events are not news
    risk.next_meeting,  # the planned committee: its agenda lists the requests and budgets above
]
