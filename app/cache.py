"""Every cached read of the app: thin st.cache_data wrappers over core reads.

Pattern: a public function the pages call, and a private cached one keyed by the registry
URL (so two registries never share entries) plus the arguments. Values are DataFrames and
frozen dataclasses, copied out of the cache on every hit. After any write, call
``clear_after_write()`` so every page reads the change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from app import bootstrap
from app.components import tables
from core import audit, identity
from core.access import Grant, grants_of
from core.db.engine import read_session
from core.db.types import utcnow
from core.governance import documentation as governance_documentation
from core.governance import history as governance_history
from core.governance import meetings as governance_meetings
from core.governance import people as governance_people
from core.governance import promotions as governance_promotions
from core.governance import risk as governance_risk
from core.governance import rules as governance_rules
from core.monitoring import alerts as feedback_alerts
from core.monitoring import labelling as feedback_labelling
from core.monitoring import performance as feedback_performance
from core.monitoring.drift import reads as drift_reads
from core.monitoring.drift.report import read_report
from core.registry import reads

TTL_SECONDS = 60
T = TypeVar("T")


def _read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a core read ``fn(session, *args, **kwargs)`` in a read session of the app's engine."""
    with read_session(bootstrap.engine()) as session:
        return fn(session, *args, **kwargs)


def _db() -> str:
    return bootstrap.database_url()


def _today() -> date:
    return utcnow().date()


def clear_after_write() -> None:
    """Forget every cached read (all pages, all sessions): call after a write succeeds."""
    st.cache_data.clear()
    _inventory.clear()
    _inventory_display.clear()
    _personas.clear()


# --- inventory -------------------------------------------------------------------------------


def inventory() -> reads.InventorySnapshot:
    """Rows, KPIs, filter options and search text of the inventory. Shared, read-only."""
    return _inventory(_db(), _today())


def inventory_display() -> pd.DataFrame:
    """The inventory rows as the table shows them (same index as ``inventory().frame``). Shared, read-only."""
    return _inventory_display(_db(), _today())


# Resources, not data: the 10,000-row frames are shared as they are instead of being copied
# out of the cache on every rerun. Nothing mutates them (filter_inventory returns new frames).
@st.cache_resource(ttl=TTL_SECONDS, show_spinner=False)
def _inventory(db: str, today: date) -> reads.InventorySnapshot:
    return _read(reads.inventory_snapshot, today=today)


@st.cache_resource(ttl=TTL_SECONDS, show_spinner=False)
def _inventory_display(db: str, today: date) -> pd.DataFrame:
    return tables.inventory_display(_inventory(db, today).frame)


# --- one model -------------------------------------------------------------------------------


def model_choices() -> list[reads.ModelChoice]:
    return _model_choices(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _model_choices(db: str) -> list[reads.ModelChoice]:
    return _read(reads.model_choices)


def model_detail(model_id: int) -> reads.ModelDetail:
    return _model_detail(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _model_detail(db: str, model_id: int) -> reads.ModelDetail:
    return _read(reads.model_detail, model_id)


def prediction_volume(model_id: int, days: int = 365) -> pd.DataFrame:
    return _prediction_volume(_db(), model_id, days, _today())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _prediction_volume(db: str, model_id: int, days: int, today: date) -> pd.DataFrame:
    return _read(reads.prediction_volume, model_id, days=days, today=today)


# --- owners ----------------------------------------------------------------------------------


def owners_overview() -> reads.OwnersOverview:
    return _owners_overview(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _owners_overview(db: str) -> reads.OwnersOverview:
    return _read(reads.owners_overview)


# --- identity --------------------------------------------------------------------------------


def personas() -> list[identity.Persona]:
    return _personas(_db())


@st.cache_resource(ttl=TTL_SECONDS, show_spinner=False)  # read on every run of every page: shared, not copied
def _personas(db: str) -> list[identity.Persona]:
    return _read(identity.personas)


def grants(person_id: int) -> list[Grant]:
    return _grants(_db(), person_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _grants(db: str, person_id: int) -> list[Grant]:
    return _read(grants_of, person_id)


# --- drift (stored runs only; computing a run is a button that clears the cache) ---------------


def drift_model_choices() -> pd.DataFrame:
    return _drift_model_choices(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _drift_model_choices(db: str) -> pd.DataFrame:
    return _read(drift_reads.drift_model_choices)


def drift_runs(model_id: int) -> pd.DataFrame:
    return _drift_runs(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _drift_runs(db: str, model_id: int) -> pd.DataFrame:
    return _read(drift_reads.drift_runs, model_id)


def drift_run_detail(run_id: int) -> drift_reads.RunDetail:
    return _drift_run_detail(_db(), run_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _drift_run_detail(db: str, run_id: int) -> drift_reads.RunDetail:
    return _read(drift_reads.run_detail, run_id)


def drift_history(model_id: int) -> pd.DataFrame:
    return _drift_history(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _drift_history(db: str, model_id: int) -> pd.DataFrame:
    return _read(drift_reads.drift_history, model_id)


def portfolio_drift() -> pd.DataFrame:
    return _portfolio_drift(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _portfolio_drift(db: str) -> pd.DataFrame:
    return _read(drift_reads.portfolio_drift)


def drift_versions(model_id: int) -> pd.DataFrame:
    return _drift_versions(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _drift_versions(db: str, model_id: int) -> pd.DataFrame:
    return _read(drift_reads.model_versions, model_id)


def drift_report_html(relative_path: str) -> bytes:
    """A stored Evidently report file (a few MB), read once per path."""
    return _drift_report_html(_db(), relative_path)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=8)
def _drift_report_html(db: str, relative_path: str) -> bytes:
    return read_report(relative_path)


# --- labelling and performance (H5b) ---------------------------------------------------------


def labelling_campaigns(labeller_id: int) -> pd.DataFrame:
    """Open campaigns with this labeller's answered / remaining counts. Not cached: the counts
    must move with every answer, and the query reads a few rows per campaign."""
    return _read(feedback_labelling.campaigns_for_labeller, labeller_id=labeller_id)


def next_case(campaign_id: int, labeller_id: int) -> feedback_labelling.Case | None:
    """The next case for this labeller, chosen server-side on every run (never cached), so a
    rerun, a refresh or a second tab always shows the first case still waiting for them."""
    return _read(feedback_labelling.next_case, campaign_id=campaign_id, labeller_id=labeller_id)


def all_campaigns(model_id: int | None = None) -> pd.DataFrame:
    return _all_campaigns(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _all_campaigns(db: str, model_id: int | None) -> pd.DataFrame:
    return _read(feedback_labelling.list_campaigns, model_id=model_id)


def campaign_agreement(campaign_id: int) -> feedback_labelling.AgreementReport:
    return _campaign_agreement(_db(), campaign_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _campaign_agreement(db: str, campaign_id: int) -> feedback_labelling.AgreementReport:
    return _read(feedback_labelling.agreement, campaign_id=campaign_id)


def performance_report(model_id: int, version_id: int | None) -> feedback_performance.PerformanceReport:
    return _performance_report(_db(), model_id, version_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _performance_report(
    db: str, model_id: int, version_id: int | None
) -> feedback_performance.PerformanceReport:
    return _read(feedback_performance.performance_report, model_id=model_id, version_id=version_id)


def monitoring_alerts(model_id: int | None = None, include_closed: bool = False) -> pd.DataFrame:
    return _monitoring_alerts(_db(), model_id, include_closed)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _monitoring_alerts(db: str, model_id: int | None, include_closed: bool) -> pd.DataFrame:
    return _read(feedback_alerts.alerts_table, model_id=model_id, include_closed=include_closed)


def monitoring_thresholds(model_id: int) -> feedback_alerts.Thresholds:
    return _monitoring_thresholds(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _monitoring_thresholds(db: str, model_id: int) -> feedback_alerts.Thresholds:
    return _read(feedback_alerts.current_thresholds, model_id=model_id)


def monitored_versions() -> pd.DataFrame:
    return _monitored_versions(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _monitored_versions(db: str) -> pd.DataFrame:
    return _read(feedback_performance.version_options)


# --- risk, business rules, review meetings, documentation (H7) --------------------------------


def risk_portfolio(unit: str | None) -> list[tuple[dict[str, Any], governance_risk.AssessmentView | None]]:
    return _risk_portfolio(_db(), unit)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _risk_portfolio(
    db: str, unit: str | None
) -> list[tuple[dict[str, Any], governance_risk.AssessmentView | None]]:
    return _read(governance_risk.portfolio, business_unit=unit)


def risk_heatmap(category: str, basis: str, unit: str | None) -> pd.DataFrame:
    return _risk_heatmap(_db(), category, basis, unit)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _risk_heatmap(db: str, category: str, basis: str, unit: str | None) -> pd.DataFrame:
    return _read(governance_risk.heatmap, category=category, basis=basis, business_unit=unit)


def risk_overdue(unit: str | None) -> pd.DataFrame:
    return _risk_overdue(_db(), unit, _today())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _risk_overdue(db: str, unit: str | None, today: date) -> pd.DataFrame:
    return _read(governance_risk.overdue_reviews, today=today, business_unit=unit)


def risk_tiers(unit: str | None) -> pd.DataFrame:
    return _risk_tiers(_db(), unit)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _risk_tiers(db: str, unit: str | None) -> pd.DataFrame:
    return _read(governance_risk.tier_distribution, business_unit=unit)


def risk_flags(unit: str | None = None, model_id: int | None = None) -> list[governance_risk.Flag]:
    return _risk_flags(_db(), unit, model_id, _today())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _risk_flags(db: str, unit: str | None, model_id: int | None, today: date) -> list[governance_risk.Flag]:
    ids = None if model_id is None else [model_id]
    return _read(governance_risk.reassessment_flags, business_unit=unit, model_ids=ids, today=today)


def risk_history(model_id: int) -> list[governance_risk.AssessmentView]:
    return _risk_history(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _risk_history(db: str, model_id: int) -> list[governance_risk.AssessmentView]:
    return _read(governance_risk.assessment_history, model_id)


def rule_history(model_id: int) -> pd.DataFrame:
    return _rule_history(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _rule_history(db: str, model_id: int) -> pd.DataFrame:
    return _read(governance_rules.rule_history, model_id=model_id)


def meetings_list() -> pd.DataFrame:
    return _meetings_list(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _meetings_list(db: str) -> pd.DataFrame:
    return _read(governance_meetings.list_meetings)


def meeting(meeting_id: int) -> governance_meetings.MeetingView:
    return _meeting(_db(), meeting_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _meeting(db: str, meeting_id: int) -> governance_meetings.MeetingView:
    return _read(governance_meetings.meeting_view, meeting_id)


def open_actions() -> pd.DataFrame:
    return _open_actions(_db(), _today())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _open_actions(db: str, today: date) -> pd.DataFrame:
    return _read(governance_meetings.open_actions, today=today)


def minutes_file(meeting_id: int, fmt: str) -> bytes:
    """The meeting's agenda and minutes as HTML or PDF bytes (built when asked, not cached)."""
    from core.governance.minutes import minutes_document
    from core.reports.document import to_html, to_pdf

    doc = minutes_document(_read(governance_meetings.meeting_view, meeting_id))
    return (
        to_html(doc, generated_at=utcnow()).encode() if fmt == "html" else to_pdf(doc, generated_at=utcnow())
    )


def documentation_overview() -> pd.DataFrame:
    return _documentation_overview(_db(), _today())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _documentation_overview(db: str, today: date) -> pd.DataFrame:
    return _read(governance_documentation.portfolio_completeness)


def documentation_scores(model_id: int) -> list[governance_documentation.TemplateScore]:
    return _documentation_scores(_db(), model_id, _today())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _documentation_scores(
    db: str, model_id: int, today: date
) -> list[governance_documentation.TemplateScore]:
    return _read(governance_documentation.completeness, model_id)


def documentation_pack_file(model_id: int, fmt: str) -> bytes:
    """The model's documentation pack as HTML or PDF bytes (built when asked, not cached)."""
    from core.reports.document import to_html, to_pdf

    doc = _read(governance_documentation.documentation_pack, model_id)
    return (
        to_html(doc, generated_at=utcnow()).encode() if fmt == "html" else to_pdf(doc, generated_at=utcnow())
    )


# --- promotions, stage history, audit log, people (H4) ----------------------------------------


def promotion_requests(
    *,
    status: str | None = None,
    model_id: int | None = None,
    requested_by_id: int | None = None,
    business_unit: str | None = None,
    target_stage: str | None = None,
) -> pd.DataFrame:
    return _promotion_requests(_db(), status, model_id, requested_by_id, business_unit, target_stage)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _promotion_requests(
    db: str,
    status: str | None,
    model_id: int | None,
    requested_by_id: int | None,
    business_unit: str | None,
    target_stage: str | None,
) -> pd.DataFrame:
    return _read(
        governance_promotions.list_requests,
        status=status,
        model_id=model_id,
        requested_by_id=requested_by_id,
        business_unit=business_unit,
        target_stage=target_stage,
    )


def promotions_waiting_for(person_id: int) -> pd.DataFrame:
    return _promotions_waiting_for(_db(), person_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _promotions_waiting_for(db: str, person_id: int) -> pd.DataFrame:
    return _read(governance_promotions.waiting_for, person_id)


def promotion_request(request_id: int) -> governance_promotions.RequestView:
    """One request, read fresh (a few rows): its status must agree with the buttons shown under it."""
    return _read(governance_promotions.request_view, request_id)


def promotion_actions(person_id: int, request_id: int) -> governance_promotions.Actions:
    """What the person may do on the request, read fresh: it decides which buttons are shown."""
    return _read(governance_promotions.allowed_actions, person_id, request_id)


def production_periods(model_id: int) -> list[governance_history.ProductionPeriod]:
    return _production_periods(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _production_periods(db: str, model_id: int) -> list[governance_history.ProductionPeriod]:
    return _read(governance_history.production_periods, model_id)


def production_version_on(model_id: int, day: date) -> reads.VersionRef | None:
    return _production_version_on(_db(), model_id, day)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _production_version_on(db: str, model_id: int, day: date) -> reads.VersionRef | None:
    return _read(reads.production_version_on, model_id, governance_history.as_instant(day))


def rollback_candidate(model_id: int) -> governance_history.ProductionPeriod | None:
    return _rollback_candidate(_db(), model_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _rollback_candidate(db: str, model_id: int) -> governance_history.ProductionPeriod | None:
    return _read(governance_history.previous_production_version, model_id)


def audit_events(
    *,
    model_id: int | None,
    actor_id: int | None,
    actions: tuple[str, ...],
    date_from: date | None,
    date_to: date | None,
    limit: int | None,
) -> pd.DataFrame:
    return _audit_events(_db(), model_id, actor_id, actions, date_from, date_to, limit)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _audit_events(
    db: str,
    model_id: int | None,
    actor_id: int | None,
    actions: tuple[str, ...],
    date_from: date | None,
    date_to: date | None,
    limit: int | None,
) -> pd.DataFrame:
    return _read(
        audit.query_events,
        model_id=model_id,
        actor_id=actor_id,
        actions=list(actions) or None,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
    )


def audit_event_count(
    *,
    model_id: int | None,
    actor_id: int | None,
    actions: tuple[str, ...],
    date_from: date | None,
    date_to: date | None,
) -> int:
    return _audit_event_count(_db(), model_id, actor_id, actions, date_from, date_to)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _audit_event_count(
    db: str,
    model_id: int | None,
    actor_id: int | None,
    actions: tuple[str, ...],
    date_from: date | None,
    date_to: date | None,
) -> int:
    return _read(
        audit.count_events,
        model_id=model_id,
        actor_id=actor_id,
        actions=list(actions) or None,
        date_from=date_from,
        date_to=date_to,
    )


def audit_verdict() -> audit.ChainVerdict:
    """The verdict on the whole chain (walks every event; cached like every read)."""
    return _audit_verdict(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _audit_verdict(db: str) -> audit.ChainVerdict:
    return _read(audit.verify)


def audit_filter_options() -> audit.FilterOptions:
    return _audit_filter_options(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _audit_filter_options(db: str) -> audit.FilterOptions:
    return _read(audit.filter_options)


def people() -> pd.DataFrame:
    return _people(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _people(db: str) -> pd.DataFrame:
    return _read(governance_people.people_with_roles)


def role_grants() -> pd.DataFrame:
    return _role_grants(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _role_grants(db: str) -> pd.DataFrame:
    return _read(governance_people.role_grants)


def business_units() -> list[str]:
    return _business_units(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _business_units(db: str) -> list[str]:
    return _read(governance_people.business_units)


# --- insight: explanations, lineage, costs (core.explain, core.lineage, core.costs) -------------


def explainable_versions() -> pd.DataFrame:
    return _explainable_versions(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _explainable_versions(db: str) -> pd.DataFrame:
    from core.explain.loading import explainable_versions as read

    return _read(read)


def global_explanations(version_id: int) -> dict[str, Any]:
    """Stored global explanations of a version by source (validation, production)."""
    return _global_explanations(_db(), version_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _global_explanations(db: str, version_id: int) -> dict[str, Any]:
    from core.explain.summaries import stored_explanations

    return _read(stored_explanations, version_id)


def recent_predictions(version_id: int) -> pd.DataFrame:
    return _recent_predictions(_db(), version_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _recent_predictions(db: str, version_id: int) -> pd.DataFrame:
    from core.explain.loading import recent_predictions as read

    return _read(read, version_id, limit=50)


@st.cache_resource(show_spinner=False, max_entries=8)
def _explainer(db: str, version_id: int, artifact_sha256: str, _actor: Any) -> Any:
    """The version's model and explainer, loaded once per artifact hash (after the hash check)."""
    from core.explain.summaries import load_explainer

    return load_explainer(bootstrap.engine(), version_id, actor=_actor)


def summary_estimate(version_id: int, artifact_sha256: str, actor: Any) -> float:
    """Seconds computing the version's global explanations would take (timed on a few rows, cached)."""
    return _summary_estimate(_db(), version_id, artifact_sha256, actor)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=50)
def _summary_estimate(db: str, version_id: int, artifact_sha256: str, _actor: Any) -> float:
    from core.explain.summaries import estimate_summary_seconds

    return estimate_summary_seconds(
        bootstrap.engine(), _explainer(db, version_id, artifact_sha256, _actor), actor=_actor
    )


def local_explanation(version_id: int, prediction_id: int, artifact_sha256: str, actor: Any) -> Any:
    """One logged prediction explained (cached per prediction; the explainer per artifact)."""
    return _local_explanation(_db(), version_id, prediction_id, artifact_sha256, actor)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=200)
def _local_explanation(
    db: str, version_id: int, prediction_id: int, artifact_sha256: str, _actor: Any
) -> Any:
    from core.explain.local import explain_logged_prediction

    loaded = _explainer(db, version_id, artifact_sha256, _actor)
    return explain_logged_prediction(bootstrap.engine(), loaded, prediction_id)


def labelling_items(version_id: int) -> pd.DataFrame:
    return _labelling_items(_db(), version_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _labelling_items(db: str, version_id: int) -> pd.DataFrame:
    from core.explain.loading import labelling_items as read

    return _read(read, version_id)


def item_explanation(version_id: int, item_id: int, artifact_sha256: str, actor: Any) -> Any:
    """The prediction a labelling item samples, explained (its label may change: short TTL)."""
    return _item_explanation(_db(), version_id, item_id, artifact_sha256, actor)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=200)
def _item_explanation(db: str, version_id: int, item_id: int, artifact_sha256: str, _actor: Any) -> Any:
    from core.explain.local import explain_labelling_item

    loaded = _explainer(db, version_id, artifact_sha256, _actor)
    return explain_labelling_item(bootstrap.engine(), loaded, item_id)


def version_context(version_id: int) -> Any:
    return _version_context(_db(), version_id)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _version_context(db: str, version_id: int) -> Any:
    from core.explain.loading import version_context as read

    return _read(read, version_id)


def lineage_graph() -> Any:
    return _lineage_graph(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _lineage_graph(db: str) -> Any:
    from core.lineage.graph import build_graph

    return _read(build_graph)


def monthly_costs() -> pd.DataFrame:
    return _monthly_costs(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _monthly_costs(db: str) -> pd.DataFrame:
    from core.costs.queries import monthly_costs as read

    return _read(read)


def monthly_predictions() -> pd.DataFrame:
    return _monthly_predictions(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _monthly_predictions(db: str) -> pd.DataFrame:
    from core.costs.queries import monthly_predictions as read

    return _read(read)


def last_cost_day() -> date | None:
    return _last_cost_day(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _last_cost_day(db: str) -> date | None:
    from core.costs.queries import last_cost_day as read

    return _read(read)


def first_cost_day() -> date | None:
    return _first_cost_day(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _first_cost_day(db: str) -> date | None:
    from core.costs.queries import first_cost_day as read

    return _read(read)


def stored_forecasts() -> dict[Any, Any]:
    return _stored_forecasts(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _stored_forecasts(db: str) -> dict[Any, Any]:
    from core.costs.fleet import stored_forecasts as read

    return _read(read)


def budget_statuses() -> list[Any]:
    return _budget_statuses(_db())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _budget_statuses(db: str) -> list[Any]:
    from core.costs.budgets import budget_statuses as read

    return _read(read)


def model_forecast(model_id: int, horizon_months: int, last_day: date | None) -> Any:
    """A single model's forecast computed on demand (about a second), cached for an hour."""
    return _model_forecast(_db(), model_id, horizon_months, last_day)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=50)
def _model_forecast(db: str, model_id: int, horizon_months: int, last_day: date | None) -> Any:
    from core.costs.fleet import forecast_for_model

    return _read(forecast_for_model, model_id, horizon_months=horizon_months)
