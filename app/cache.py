"""Every registry read of the app, declared once: which core reader, for how long, and which
writes make it stale.

``cached(reader, tags=...)`` turns a core reader ``reader(session, *args, **kwargs)`` into
``reader(*args, **kwargs)`` that runs in a read session of the app's engine and is cached per
registry URL and arguments for ``ttl`` seconds. Its ``tags`` name the kinds of data it reads;
a write names the kinds it changes (``app.actions``), and ``clear(tags)`` forgets exactly the
readers that read one of them, in every session of this process. ``fresh(reader)`` reads on
every call, for what must agree with the buttons shown under it.

Values are DataFrames and frozen read models. ``st.cache_data`` hands out copies;
``resource=True`` shares one object (large frames read on every run; nobody mutates them).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, Concatenate, Generic, Literal, ParamSpec, TypeVar

import streamlit as st
from sqlmodel import Session

from app import bootstrap
from core import audit, clock, identity
from core.access import grants_of
from core.costs import budgets as cost_budgets
from core.costs import fleet as cost_fleet
from core.costs import queries as cost_queries
from core.db.engine import read_session
from core.explain import loading as explain_loading
from core.explain import local as explain_local
from core.explain import summaries as explain_summaries
from core.governance import documentation, history, meetings, people, promotions, retraining, risk, rules
from core.governance.minutes import meeting_minutes
from core.lineage.graph import build_graph
from core.logstore.retention import retention_of as log_retention_of
from core.monitoring import alerts, estimation, labelling, performance, segments, thresholds
from core.monitoring.drift import reads as drift_reads
from core.monitoring.drift.report import read_report
from core.notify import delivery, subscriptions
from core.registry import figures, reads, stewardship_reads
from core.registry.display import inventory_display
from core.reports.document import to_html, to_pdf

P = ParamSpec("P")
T = TypeVar("T")
TTL_SECONDS = 60

# Kinds of data a write can change. Every write appends to the audit log: readers tagged ANY (the
# audit log, and what summarises the whole registry) go stale after every write.
PEOPLE = "people"  # persons, role grants, sign-in links
MODELS = "models"  # models, versions, stages, owners, datasets, deployments, lineage
PROMOTIONS = "promotions"  # promotion requests, decisions, comments
LABELS = "labels"  # labelling campaigns, answers, labels of predictions
DRIFT = "drift"  # drift runs and their reports
ALERTS = "alerts"  # monitoring alerts, thresholds, health
RISK = "risk"  # risk assessments
RULES = "rules"  # business rules
MEETINGS = "meetings"  # review meetings, agendas, decisions, actions
EXPLANATIONS = "explanations"  # stored global explanations
COSTS = "costs"  # cost budgets and stored forecasts
NOTIFICATIONS = "notifications"  # preferences, subscriptions, endpoints, deliveries
RETRAINING = "retraining"  # retraining requests
ANY = "any"
Tag = str

_READERS: list[Cached[Any, Any]] = []


def today() -> date:
    """Today in UTC: readers that depend on the day are cached per day."""
    return clock.today()


class Cached(Generic[P, T]):
    """A core reader with the engine injected, cached per registry, day and arguments."""

    def __init__(
        self,
        reader: Callable[..., T],
        *,
        tags: Iterable[Tag],
        ttl: float | None,
        source: Literal["session", "engine"],
        daily: bool,
        resource: bool,
        max_entries: int | None,
        unhashed: tuple[str, ...],
    ) -> None:
        self.tags = frozenset(tags)
        self._daily = daily
        self._unhashed = unhashed
        passes_today = daily and "today" in inspect.signature(reader).parameters

        def load(db: str, day: date | None, args: tuple[Any, ...], kwargs: tuple[Any, ...], _extra: Any) -> T:
            named = {**dict(kwargs), **_extra, **({"today": day} if passes_today else {})}
            if source == "engine":
                return reader(bootstrap.engine(), *args, **named)
            with read_session(bootstrap.engine()) as session:
                return reader(session, *args, **named)

        # Streamlit keys a cache by the function's module, qualified name and source: give each
        # reader its own name, or all of them would share one cache.
        load.__name__ = load.__qualname__ = f"read[{reader.__module__}.{reader.__qualname__}]"
        decorator = st.cache_resource if resource else st.cache_data
        self._load = decorator(ttl=ttl, show_spinner=False, max_entries=max_entries)(load)
        _READERS.append(self)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        extra = {name: kwargs.pop(name) for name in self._unhashed if name in kwargs}
        day = today() if self._daily else None
        return self._load(bootstrap.database_url(), day, args, tuple(sorted(kwargs.items())), extra)

    def clear(self) -> None:
        self._load.clear()


def cached(
    reader: Callable[Concatenate[Any, P], T],
    *,
    tags: Iterable[Tag],
    ttl: float | None = TTL_SECONDS,
    source: Literal["session", "engine"] = "session",
    daily: bool = False,
    resource: bool = False,
    max_entries: int | None = None,
    unhashed: tuple[str, ...] = (),
) -> Cached[P, T]:
    """``reader(session_or_engine, *args, **kwargs)`` as a cached ``reader(*args, **kwargs)``.

    ``daily``: cached per UTC day too (passed as ``today=`` when the reader takes it).
    ``unhashed``: keyword arguments handed to the reader but not part of the cache key.
    """
    return Cached(
        reader,
        tags=tags,
        ttl=ttl,
        source=source,
        daily=daily,
        resource=resource,
        max_entries=max_entries,
        unhashed=unhashed,
    )


def fresh(reader: Callable[Concatenate[Session, P], T]) -> Callable[P, T]:
    """``reader`` run in a new read session on every call (never cached)."""

    def read(*args: P.args, **kwargs: P.kwargs) -> T:
        with read_session(bootstrap.engine()) as session:
            return reader(session, *args, **kwargs)

    return read


def clear(tags: Iterable[Tag]) -> None:
    """Forget the cached reads of every reader that reads one of ``tags`` (all sessions)."""
    stale = set(tags)
    for reader in _READERS:
        if ANY in reader.tags or reader.tags & stale:
            reader.clear()


# --- inventory, one model, owners, people -----------------------------------------------------

_INVENTORY = (MODELS, PEOPLE, ALERTS, RISK, COSTS, DRIFT)
# Shared, not copied: 10,000-row frames read on every run; filter_inventory returns new frames.
inventory = cached(reads.inventory_snapshot, tags=_INVENTORY, daily=True, resource=True)


def _inventory_table(_engine: Any) -> Any:
    return inventory_display(inventory().frame)  # labelled once per inventory, not on every rerun


inventory_table = cached(_inventory_table, tags=_INVENTORY, source="engine", daily=True, resource=True)
model_choices = cached(reads.model_choices, tags=(MODELS,))
model_detail = cached(reads.model_detail, tags=(MODELS, PEOPLE, ALERTS, RULES))
log_retention = cached(log_retention_of, tags=(MODELS,))  # the model page's retention panel
prediction_volume = cached(reads.prediction_volume, tags=(MODELS,), daily=True)
owners_overview = cached(reads.owners_overview, tags=(MODELS, PEOPLE))
personas = cached(identity.personas, tags=(PEOPLE,), resource=True)  # read on every run of every page
grants = cached(grants_of, tags=(PEOPLE,))
people_table = cached(people.people_with_roles, tags=(PEOPLE,))
role_grants = cached(people.role_grants, tags=(PEOPLE,))
tokens = cached(identity.list_tokens, tags=(PEOPLE,))  # token views: never the secrets
business_units = cached(people.business_units, tags=(PEOPLE, MODELS))

# --- the inventory forms (Owners, Model, Lineage pages) -------------------------------------------

person_choices = cached(stewardship_reads.people, tags=(PEOPLE,))
roles_of_person = cached(stewardship_reads.roles_of, tags=(MODELS, PEOPLE))
owners_of_model = cached(stewardship_reads.owners_of, tags=(MODELS, PEOPLE))
former_owners = cached(stewardship_reads.former_owners, tags=(MODELS, PEOPLE))
model_facts = cached(stewardship_reads.model_facts, tags=(MODELS,))
versions_of_model = cached(stewardship_reads.versions_of, tags=(MODELS,))
card_revisions = cached(stewardship_reads.card_revisions, tags=(MODELS, PEOPLE))
deployments_of_model = cached(stewardship_reads.deployments_of, tags=(MODELS,))
lineage_choices = cached(stewardship_reads.lineage_choices, tags=(MODELS,))
data_sources = cached(stewardship_reads.data_sources, tags=(MODELS,))
business_processes = cached(stewardship_reads.business_processes, tags=(MODELS,))

# --- drift (stored runs only; computing one is a write) ----------------------------------------

drift_model_choices = cached(drift_reads.drift_model_choices, tags=(MODELS, DRIFT))
drift_runs = cached(drift_reads.drift_runs, tags=(DRIFT,))
drift_run_detail = cached(drift_reads.run_detail, tags=(DRIFT,))
drift_history = cached(drift_reads.drift_history, tags=(DRIFT,))
portfolio_drift = cached(drift_reads.portfolio_drift, tags=(MODELS, DRIFT))
drift_versions = cached(drift_reads.model_versions, tags=(MODELS, DRIFT))


def _report_file(_engine: Any, relative_path: str) -> bytes:
    return read_report(relative_path)


drift_report_html = cached(_report_file, tags=(DRIFT,), source="engine", max_entries=8)  # a few MB each

# --- labelling and performance -----------------------------------------------------------------

# The counts move with every answer and the next case is chosen server-side on every run, so a
# rerun, a refresh or a second tab always shows the first case still waiting for this labeller.
labelling_campaigns = fresh(labelling.campaigns_for_labeller)
next_case = fresh(labelling.next_case)
all_campaigns = cached(labelling.list_campaigns, tags=(LABELS,))
campaign_agreement = cached(labelling.agreement, tags=(LABELS,))
performance_report = cached(performance.performance_report, tags=(LABELS, ALERTS, MODELS))
estimated_performance = cached(estimation.estimate_report, tags=(LABELS, MODELS))
segment_report = cached(segments.segment_report, tags=(LABELS, ALERTS, MODELS))
monitoring_alerts = cached(alerts.alerts_table, tags=(ALERTS,))
monitoring_thresholds = cached(thresholds.current_thresholds, tags=(ALERTS,))
monitored_versions = cached(performance.version_options, tags=(MODELS,))

# --- risk, business rules, review meetings, documentation --------------------------------------

_EVIDENCE = (RISK, MODELS, PEOPLE, ALERTS, DRIFT, LABELS)  # what re-assessment flags look at
risk_portfolio = cached(risk.portfolio, tags=(RISK, MODELS))
risk_heatmap = cached(risk.heatmap, tags=(RISK, MODELS))
risk_overdue = cached(risk.overdue_reviews, tags=(RISK, MODELS), daily=True)
risk_tiers = cached(risk.tier_distribution, tags=(RISK, MODELS))
risk_flags = cached(risk.reassessment_flags, tags=_EVIDENCE, daily=True)
risk_history = cached(risk.assessment_history, tags=(RISK,))
rule_history = cached(rules.rule_history, tags=(RULES,))
meetings_list = cached(meetings.list_meetings, tags=(MEETINGS,))
meeting = cached(meetings.meeting_view, tags=(MEETINGS, PEOPLE))
open_actions = cached(meetings.open_actions, tags=(MEETINGS, PEOPLE), daily=True)
documentation_overview = cached(documentation.portfolio_completeness, tags=(ANY,), daily=True)
documentation_scores = cached(documentation.completeness, tags=(ANY,), daily=True)


def _file(doc: Any, fmt: str) -> bytes:
    return (
        to_html(doc, generated_at=clock.now()).encode()
        if fmt == "html"
        else to_pdf(doc, generated_at=clock.now())
    )


def _minutes(session: Session, meeting_id: int, fmt: str) -> bytes:
    return _file(meeting_minutes(session, meeting_id), fmt)


def _documentation_pack(session: Session, model_id: int, fmt: str) -> bytes:
    return _file(documentation.documentation_pack(session, model_id), fmt)


minutes_file = fresh(_minutes)  # built when downloaded, from the registry as it is then
documentation_pack_file = fresh(_documentation_pack)

# --- promotions, stage history, audit log ------------------------------------------------------

promotion_requests = cached(promotions.list_requests, tags=(PROMOTIONS, MODELS))
promotions_waiting_for = cached(promotions.waiting_for, tags=(PROMOTIONS, MODELS, PEOPLE))
# Read fresh (a few rows): the request's status and what the person may do decide the buttons.
promotion_request = fresh(promotions.request_view)
promotion_actions = fresh(promotions.allowed_actions)
production_periods = cached(history.production_periods, tags=(MODELS,))
rollback_candidate = cached(history.previous_production_version, tags=(MODELS,))


def _production_version_on(session: Session, model_id: int, day: date) -> reads.VersionRef | None:
    return reads.production_version_on(session, model_id, history.as_instant(day))


production_version_on = cached(_production_version_on, tags=(MODELS,))
audit_events = cached(audit.query_events, tags=(ANY,))
audit_event_count = cached(audit.count_events, tags=(ANY,))
audit_verdict = cached(audit.verify, tags=(ANY,))  # walks every event
audit_filter_options = cached(audit.filter_options, tags=(ANY,))

# --- explanations, lineage, costs ----------------------------------------------------------------

explainable_versions = cached(explain_loading.explainable_versions, tags=(MODELS,))
global_explanations = cached(explain_summaries.stored_explanations, tags=(EXPLANATIONS,))
recent_predictions = cached(explain_loading.recent_predictions, tags=(LABELS,))
labelling_items = cached(explain_loading.labelling_items, tags=(LABELS,))
version_context = cached(explain_loading.version_context, tags=(MODELS, RULES))


def _explainer(
    engine: Any, version_id: int, artifact_sha256: str, class_name: str = "", *, actor: Any
) -> Any:
    """The version's model and explainer (loaded after the hash check), one per artifact hash
    (and, for a multiclass classifier, per class explained)."""
    return explain_summaries.load_explainer(engine, version_id, actor=actor, class_name=class_name or None)


explainer = cached(
    _explainer, tags=(), ttl=None, source="engine", resource=True, max_entries=8, unhashed=("actor",)
)


def _estimate(engine: Any, version_id: int, artifact_sha256: str, *, actor: Any) -> float:
    loaded = explainer(version_id, artifact_sha256, actor=actor)
    return explain_summaries.estimate_summary_seconds(engine, loaded, actor=actor)


def _explain_prediction(
    engine: Any,
    version_id: int,
    prediction_id: int,
    artifact_sha256: str,
    class_name: str = "",
    *,
    actor: Any,
) -> Any:
    loaded = explainer(version_id, artifact_sha256, class_name, actor=actor)
    return explain_local.explain_logged_prediction(engine, loaded, prediction_id)


def _explain_item(
    engine: Any, version_id: int, item_id: int, artifact_sha256: str, class_name: str = "", *, actor: Any
) -> Any:
    loaded = explainer(version_id, artifact_sha256, class_name, actor=actor)
    return explain_local.explain_labelling_item(engine, loaded, item_id)


def _class_summary(engine: Any, version_id: int, artifact_sha256: str, class_name: str, *, actor: Any) -> Any:
    loaded = explainer(version_id, artifact_sha256, class_name, actor=actor)
    return explain_summaries.class_summary(engine, loaded, actor=actor)


# A multiclass classifier's global importance for one class (computed when asked, not stored).
class_summary = cached(
    _class_summary, tags=(), ttl=3600, source="engine", max_entries=50, unhashed=("actor",)
)
# Seconds computing the global explanations would take (timed on a few rows).
summary_estimate = cached(_estimate, tags=(), ttl=3600, source="engine", max_entries=50, unhashed=("actor",))
local_explanation = cached(
    _explain_prediction, tags=(RULES,), ttl=3600, source="engine", max_entries=200, unhashed=("actor",)
)
# The labelling item's label may change: it goes stale with the labels.
item_explanation = cached(
    _explain_item, tags=(LABELS, RULES), source="engine", max_entries=200, unhashed=("actor",)
)
lineage_graph = cached(build_graph, tags=(MODELS, ALERTS, DRIFT))
monthly_costs = cached(cost_queries.costs_by_month, tags=(COSTS, MODELS))
monthly_predictions = cached(cost_queries.monthly_predictions, tags=(MODELS,))
last_cost_day = cached(cost_queries.last_cost_day, tags=(COSTS,))
first_cost_day = cached(cost_queries.first_cost_day, tags=(COSTS,))
stored_forecasts = cached(cost_fleet.stored_forecasts, tags=(COSTS,))
budget_statuses = cached(cost_budgets.budget_statuses, tags=(COSTS,))
# The headline figures (core.registry.figures): the same values on every page that shows them.
portfolio_figures = cached(figures.portfolio_figures, tags=(COSTS, MODELS, RISK, ALERTS), daily=True)
assessed_counts = cached(figures.assessed_counts, tags=(RISK, MODELS))


def _model_forecast(session: Session, model_id: int, last_day: date | None) -> Any:
    return cost_fleet.forecast_for_model(session, model_id, horizon_months=12)


# One model's 12-month forecast, computed on demand (about a second); new costs change last_day.
model_forecast = cached(_model_forecast, tags=(COSTS,), ttl=3600, max_entries=50)


# --- notifications and retraining requests -------------------------------------------------------------

# Short-lived: the delivery worker changes these every minute, and any write may queue an event.
delivery_health = cached(delivery.health, tags=(ANY, NOTIFICATIONS), ttl=15)
delivery_problems = cached(delivery.deliveries_table, tags=(ANY, NOTIFICATIONS), ttl=15)
delivery_attempts = cached(delivery.attempts_table, tags=(NOTIFICATIONS,), ttl=15)
notification_subscriptions = cached(subscriptions.subscriptions_table, tags=(NOTIFICATIONS, PEOPLE, MODELS))
notification_preference = cached(subscriptions.preference_of, tags=(NOTIFICATIONS,))
retraining_requests = cached(retraining.requests_table, tags=(RETRAINING, MODELS, PEOPLE), daily=True)
retraining_sources = cached(retraining.sources_for, tags=(RETRAINING, ALERTS, RISK, MEETINGS), daily=True)
retraining_loops = cached(retraining.loop_times, tags=(RETRAINING, MODELS), daily=True)
# Not cached: pipelines answer requests from other processes (`register-version --answers`), and
# these are single indexed lookups.
open_retraining_request = fresh(retraining.open_request_of)
retraining_answers = fresh(retraining.answer_candidates)
