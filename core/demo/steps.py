"""Area steps run after the base demo portfolio is built (monitoring, governance, risk...).

Each entry is ``"module:function"``; ``build_demo`` calls ``function(engine, context)`` in list
order, after the base portfolio has been committed. A step opens its own transactions
(``write_session``), writes through its area's services, and derives every timestamp and
random draw from the context (``context["at"]``, ``context["rng"]``) so that the demo stays
deterministic (tests/integration/test_demo.py compares two builds).

``context`` holds:

- ``seed`` (int), ``today`` (date), ``predictions_per_day`` (int)
- ``system``: the system ``Actor``; ``people``: persona email -> ``Actor`` (see ``core.demo.PERSONAS``;
  the leaver, Jan de Vries, is inactive by then and cannot act)
- ``models``: model name -> id; ``versions``: model name -> {version number -> version id}
- ``stages``: model name -> {version number -> final stage}; ``production_versions``: model name -> version id
- ``data_sources``: name -> id; ``processes``: business process name -> id
- ``at(days_ago, hour=9, minute=0)``: a UTC datetime ``days_ago`` days before ``today``
- ``rng(key: str)``: a numpy Generator seeded from the demo seed and ``key`` (use your area's name)

Append your step with a one-line edit, e.g. ``"core.monitoring.demo:populate"``.
"""

from __future__ import annotations

AREA_STEPS: list[str] = [
    "core.demo.monitoring_drift:populate",  # monthly drift runs: before health/alerts, which read them
    "core.demo.monitoring:populate",  # campaigns with a few labels, then health and alerts of every model
    "core.demo.risk:populate",  # risk, rules, meetings: best after the monitoring steps (its agenda reads alerts)
    "core.demo.insight:populate",  # fleet cost forecasts, budgets, global explanations of production versions
    "core.demo.governance:populate",  # promotion requests: last, so the stages and cards they froze stay put
    "core.demo.risk:next_meeting",  # the planned committee: its agenda lists the requests and budgets above
]
