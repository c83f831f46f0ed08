"""Read models and queries over the registry, for the app, the CLI and reports.

Every function takes an open session and returns plain values: DataFrames or frozen
dataclasses, never ORM rows bound to a session. Queries are set-based (a fixed number of
statements whatever the number of models) and read the per-day rollup
``prediction_daily``, never the raw ``prediction_log``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import String, Table, case, func, select, type_coerce
from sqlmodel import Session

from core import audit, clock
from core.db.models import (
    BusinessProcess,
    BusinessRule,
    Dataset,
    DataSource,
    Deployment,
    Model,
    ModelHealth,
    ModelVersion,
    Ownership,
    Person,
    PredictionDaily,
    RiskAssessment,
    StageChange,
)
from core.errors import NotFound
from core.registry.figures import (
    CardCompleteness,
    card_completeness,
    card_values,
    cost_per_model,
    last_30_days,
    totals,
)
from core.registry.figures import (
    cost_last_30_days as cost_last_30_days_of,
)
from core.registry.knowledge import Holder, knowledge_gaps

# --- vocabulary shown to people --------------------------------------------------------------

OWNERSHIP_ROLE_LABELS: dict[str, str] = {
    "business_owner": "Accountable owner",
    "technical_owner": "Technical owner",
    "validator": "Independent validator",
    "backup": "Backup",
}
CARD_SECTION_TITLES: dict[str, str] = {
    "card_training_data": "Training data",
    "card_evaluation": "Evaluation",
    "card_limitations": "Limitations",
    "card_ethical_considerations": "Ethical considerations",
    "card_caveats": "Caveats and recommendations",
}
TASK_LABELS = {"binary_classification": "Binary classification", "regression": "Regression"}
# A person who is accountable or technical owner of this many live models concentrates knowledge.
MANY_MODELS_THRESHOLD = 5
HEALTH_URGENCY = {"alert": 0, "warning": 1, "unknown": 2, "ok": 3}


def _table(table_model: Any) -> Table:
    """The Core table of a SQLModel class (set-based queries are written in SQLAlchemy Core)."""
    return table_model.__table__


def _today(today: date | None) -> date:
    return today or clock.today()


def _frame(result: Any, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in result], columns=columns)


def _dates(frame: pd.DataFrame, *columns: str) -> None:
    """Make timestamp columns tz-aware UTC datetime64 (empty and all-null columns included).

    Values may be aware datetimes, naive UTC datetimes or ISO 8601 text as SQLite stores them.
    """
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")


# --- inventory --------------------------------------------------------------------------------

INVENTORY_COLUMNS = [
    "model_id",
    "name",
    "business_unit",
    "business_process",
    "accountable_owner",
    "technical_owner",
    "stage",
    "production_version",
    "version_count",
    "last_retrained",
    "last_prediction",
    "monthly_cost",
    "cost_currency",
    "health",
    "health_reason",
    "status",
]


def inventory(session: Session, *, today: date | None = None) -> pd.DataFrame:
    """One row per model with what the inventory page lists (columns: ``INVENTORY_COLUMNS``).

    ``stage`` is the stage of the current production version if there is one, else
    "staging", "archived" or "none". ``monthly_cost`` is the cost of the 30 days ending
    ``today`` (NaN when the model's costs are in several currencies; ``cost_currency`` then
    lists them). ``last_prediction`` comes from the daily rollup. Rows are in name order
    (the database's collation). Two statements, whatever the number of models: the listing
    and the 30-day costs.
    """
    return _inventory_frame(session, costs_last_30_days(session, today=today))


def inventory_and_kpis(session: Session, *, today: date | None = None) -> tuple[pd.DataFrame, InventoryKpis]:
    """``inventory()`` and ``inventory_kpis()`` together, aggregating the costs once."""
    costs = costs_last_30_days(session, today=today)
    return _inventory_frame(session, costs), _kpis(session, costs, _today(today))


@dataclass(frozen=True)
class InventorySnapshot:
    """What the inventory page needs, computed once: rows (in name order), KPIs, filter
    options and the search text. Treat as read-only: it may be shared between sessions."""

    frame: pd.DataFrame
    kpis: InventoryKpis
    options: InventoryOptions
    search_text: pd.Series


def inventory_snapshot(session: Session, *, today: date | None = None) -> InventorySnapshot:
    frame, kpis = inventory_and_kpis(session, today=today)
    return InventorySnapshot(
        frame=frame, kpis=kpis, options=inventory_options(frame), search_text=inventory_search_text(frame)
    )


def costs_last_30_days(session: Session, *, today: date | None = None) -> pd.DataFrame:
    """Cost per model and currency over the ``COST_WINDOW_DAYS`` (30) days ending ``today``
    (columns model_id, currency, amount): the figure "Cost, last 30 days" of
    ``core.registry.figures``, comparable from one day to the next. Costs per calendar month (the
    Costs page, budgets) are ``core.costs.queries.costs_by_month``."""
    return cost_per_model(session, last_30_days(_today(today)))


def _inventory_frame(session: Session, costs: pd.DataFrame) -> pd.DataFrame:
    v = _table(ModelVersion).alias("v")
    versions = (
        select(
            v.c.model_id,
            func.count().label("version_count"),
            func.max(v.c.created_at).label("last_retrained"),
            func.max(case((v.c.stage == "production", v.c.version))).label("production_version"),
            func.max(case((v.c.stage == "staging", 1), else_=0)).label("has_staging"),
            func.max(case((v.c.stage == "archived", 1), else_=0)).label("has_archived"),
        )
        .group_by(v.c.model_id)
        .subquery("versions")
    )
    seen = _last_prediction_per_model()
    business = _owner_per_model("business_owner")
    technical = _owner_per_model("technical_owner")
    m, bp, h = _table(Model), _table(BusinessProcess), _table(ModelHealth)
    stmt = (
        select(
            m.c.id,
            m.c.name,
            m.c.business_unit,
            bp.c.name,
            business.c.name,
            business.c.left,
            technical.c.name,
            technical.c.left,
            versions.c.production_version,
            versions.c.has_staging,
            versions.c.has_archived,
            versions.c.version_count,
            as_stored(versions.c.last_retrained),
            as_stored(seen.c.last_prediction),
            h.c.status,
            as_stored(h.c.reasons),
            m.c.status,
        )
        .select_from(m)
        .outerjoin(bp, bp.c.id == m.c.business_process_id)
        .outerjoin(business, business.c.model_id == m.c.id)
        .outerjoin(technical, technical.c.model_id == m.c.id)
        .outerjoin(versions, versions.c.model_id == m.c.id)
        .outerjoin(seen, seen.c.model_id == m.c.id)
        .outerjoin(h, h.c.model_id == m.c.id)
        .order_by(m.c.name)
    )
    raw = _frame(
        session.execute(stmt),
        [
            "model_id",
            "name",
            "business_unit",
            "business_process",
            "accountable_owner",
            "accountable_left",
            "technical_owner",
            "technical_left",
            "production_version",
            "has_staging",
            "has_archived",
            "version_count",
            "last_retrained",
            "last_prediction",
            "health",
            "reasons",
            "status",
        ],
    )
    return _shape_inventory(raw, costs)


def as_stored(column: Any) -> Any:
    """``column`` read as the driver returns it, skipping SQLAlchemy's per-row conversion.

    For 10,000-row listings: timestamps and JSON are then converted column-wise (see
    ``_dates`` and ``_reason_text``), which is several times faster.
    """
    return type_coerce(column, String)


def _last_prediction_per_model() -> Any:
    """Newest logged prediction per model: newest per version from the rollup's covering
    index, then per model."""
    pdl, v = _table(PredictionDaily), _table(ModelVersion).alias("pv")
    per_version = (
        select(pdl.c.model_version_id, func.max(pdl.c.last_ts).label("last_ts"))
        .group_by(pdl.c.model_version_id)
        .subquery("per_version")
    )
    return (
        select(v.c.model_id, func.max(per_version.c.last_ts).label("last_prediction"))
        .select_from(per_version)
        .join(v, v.c.id == per_version.c.model_version_id)
        .group_by(v.c.model_id)
        .subquery("seen")
    )


def _owner_per_model(role: str) -> Any:
    """The person holding ``role`` per model (services keep one; min() guards against stray rows)."""
    o, p = _table(Ownership).alias(f"o_{role}"), _table(Person).alias(f"p_{role}")
    return (
        select(
            o.c.model_id,
            func.min(p.c.name).label("name"),
            func.max(case((p.c.active, 0), else_=1)).label("left"),
        )
        .select_from(o)
        .join(p, p.c.id == o.c.person_id)
        .where(o.c.role == role)
        .group_by(o.c.model_id)
        .subquery(role)
    )


def _shape_inventory(raw: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    frame = raw.copy()
    for who, left in (("accountable_owner", "accountable_left"), ("technical_owner", "technical_left")):
        frame[who] = np.where(frame[left].eq(1), frame[who].astype(str) + " (left)", frame[who])
        frame[who] = frame[who].where(raw[who].notna(), None)
    frame["stage"] = np.select(
        [frame["production_version"].notna(), frame["has_staging"].eq(1), frame["has_archived"].eq(1)],
        ["production", "staging", "archived"],
        default="none",
    )
    frame["production_version"] = frame["production_version"].astype("Int64")
    frame["version_count"] = frame["version_count"].fillna(0).astype(int)
    per_model = _cost_per_model(costs)
    frame["monthly_cost"] = frame["model_id"].map(per_model["amount"]).astype(float)
    frame["cost_currency"] = frame["model_id"].map(per_model["currency"])
    frame["cost_currency"] = frame["cost_currency"].astype(object).where(frame["cost_currency"].notna(), None)
    frame["health"] = frame["health"].fillna("unknown")
    frame["health_reason"] = [_reason_text(r) for r in frame["reasons"]]
    _dates(frame, "last_retrained", "last_prediction")
    return frame[INVENTORY_COLUMNS].reset_index(drop=True)


def _cost_per_model(costs: pd.DataFrame) -> pd.DataFrame:
    """Per model id: amount and currency; a model with costs in several currencies gets no
    amount (they cannot be added) and its currencies listed, e.g. "EUR, USD"."""
    per_model = costs.groupby("model_id").agg(
        amount=("amount", "sum"), currencies=("currency", "size"), currency=("currency", "first")
    )
    mixed = per_model.index[per_model["currencies"] > 1]
    if len(mixed):
        listed = (
            costs[costs["model_id"].isin(mixed)]
            .groupby("model_id")["currency"]
            .agg(lambda c: ", ".join(sorted(c)))
        )
        per_model.loc[mixed, "amount"] = np.nan
        per_model.loc[mixed, "currency"] = listed
    return per_model


def _reason_text(reasons: Any) -> str:
    """The health reasons' messages joined by "; " (``reasons``: a list, or its JSON text)."""
    if isinstance(reasons, str):
        reasons = json.loads(reasons)
    if not reasons:
        return ""
    messages = (
        str(r.get("message") or r.get("kind") or "").strip().rstrip(".")
        for r in reasons
        if isinstance(r, dict)
    )
    return "; ".join(m for m in messages if m)


@dataclass(frozen=True)
class InventoryFilter:
    """What the inventory page's search box, filters and sort ask for."""

    search: str = ""
    units: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    sort: str = "Name (A to Z)"


# label -> (column, ascending); None keeps the inventory's name order. Sorting is stable, so
# ties stay in name order. Health sorts by urgency, not alphabetically.
INVENTORY_SORTS: dict[str, tuple[str | None, bool]] = {
    "Name (A to Z)": (None, True),
    "Health (most urgent first)": ("health", True),
    "Cost, last 30 days (highest first)": ("monthly_cost", False),
    "Last prediction (oldest first)": ("last_prediction", True),
    "Last retrained (newest first)": ("last_retrained", False),
    "Business unit": ("business_unit", True),
    "Version count (most first)": ("version_count", False),
}
_SEARCHED = ("name", "business_unit", "business_process", "accountable_owner", "technical_owner")


def inventory_search_text(frame: pd.DataFrame) -> pd.Series:
    """Per row, the lower-case text the search box looks in: name, business unit, process, owners."""
    text = frame["name"].str.lower()
    for column in _SEARCHED[1:]:
        text = text + "\n" + frame[column].fillna("").str.lower()
    return text


def filter_inventory(
    frame: pd.DataFrame, wanted: InventoryFilter, *, search_text: pd.Series | None = None
) -> pd.DataFrame:
    """The rows of an ``inventory()`` frame (in its name order) that match ``wanted``, sorted as asked.

    Search is a case-insensitive substring over name, business unit, process and owners
    (``search_text``, if given, is ``inventory_search_text(frame)`` computed beforehand). An
    owner matches as accountable or technical owner. Empty filters keep every row. Rows keep
    their index labels, so another frame indexed like ``frame`` aligns with ``.loc[view.index]``.
    """
    keep = np.ones(len(frame), dtype=bool)
    needle = wanted.search.strip().lower()
    if needle:
        text = search_text if search_text is not None else inventory_search_text(frame)
        keep &= text.str.contains(needle, regex=False).to_numpy()
    for column, values in (
        ("business_unit", wanted.units),
        ("stage", wanted.stages),
        ("status", wanted.statuses),
    ):
        if values:
            keep &= frame[column].isin(values).to_numpy()
    if wanted.owners:
        keep &= (
            frame["accountable_owner"].isin(wanted.owners) | frame["technical_owner"].isin(wanted.owners)
        ).to_numpy()
    view = frame[keep]
    by, ascending = INVENTORY_SORTS.get(wanted.sort, (None, True))
    if by is not None:
        key = view[by].map(HEALTH_URGENCY) if by == "health" else view[by]
        view = view.loc[key.sort_values(ascending=ascending, kind="stable", na_position="last").index]
    return view


@dataclass(frozen=True)
class InventoryOptions:
    units: list[str]
    stages: list[str]
    owners: list[str]
    statuses: list[str]


def inventory_options(frame: pd.DataFrame) -> InventoryOptions:
    """The values each inventory filter can take, from an ``inventory()`` frame."""
    owners = pd.concat([frame["accountable_owner"], frame["technical_owner"]]).dropna()
    stage_order = ["production", "staging", "archived", "none"]
    status_order = ["development", "validation", "production", "retired"]
    return InventoryOptions(
        units=sorted(frame["business_unit"].dropna().unique().tolist()),
        stages=[s for s in stage_order if s in set(frame["stage"])],
        owners=sorted(owners.unique().tolist()),
        statuses=[s for s in status_order if s in set(frame["status"])],
    )


@dataclass(frozen=True)
class InventoryKpis:
    """Headline figures of the portfolio. ``None`` means "no data to say" (the KPI is hidden)."""

    models: int
    in_production: int
    with_alerts: int
    with_warnings: int
    monthly_cost: dict[str, float]  # currency -> "Cost, last 30 days" (core.registry.figures)
    high_risk: int | None = None
    overdue_reviews: int | None = None
    today: date | None = None  # the last day of the 30 days


def inventory_kpis(session: Session, *, today: date | None = None) -> InventoryKpis:
    """Models in production, models whose health is alert / warning, cost per currency, and
    (once any risk assessment exists) high-risk models and overdue risk reviews.

    High-risk models and overdue reviews stay None while the registry holds no risk
    assessment at all: a 0 would falsely say none are at risk.
    """
    return _kpis(session, costs_last_30_days(session, today=today), _today(today))


def _risk_kpis(session: Session, today: date) -> tuple[int | None, int | None]:
    """(high-risk models, overdue reviews) over models not retired, from each model's newest
    assessment; (None, None) when nothing was ever assessed. Overdue follows
    core.governance.risk.overdue_reviews: review date passed, or never assessed although in
    validation or production."""
    m, ra = _table(Model), _table(RiskAssessment)
    newest = (
        select(ra.c.model_id, func.max(ra.c.version).label("v")).group_by(ra.c.model_id).subquery("newest")
    )
    high, overdue, assessed = session.execute(
        select(
            func.sum(case((ra.c.tier == "high", 1), else_=0)),
            func.sum(
                case(
                    (ra.c.next_review_due < today, 1),
                    (ra.c.id.is_(None) & m.c.status.in_(("validation", "production")), 1),
                    else_=0,
                )
            ),
            func.count(ra.c.id),
        )
        .select_from(m)
        .outerjoin(newest, newest.c.model_id == m.c.id)
        .outerjoin(ra, (ra.c.model_id == m.c.id) & (ra.c.version == newest.c.v))
        .where(m.c.status != "retired")
    ).one()
    if not assessed:
        return None, None
    return int(high or 0), int(overdue or 0)


def _kpis(session: Session, costs: pd.DataFrame, today: date) -> InventoryKpis:
    v, h = _table(ModelVersion), _table(ModelHealth)
    models = session.execute(select(func.count()).select_from(_table(Model))).scalar_one()
    in_production = session.execute(
        select(func.count(func.distinct(v.c.model_id))).where(v.c.stage == "production")
    ).scalar_one()
    health: dict[str, int] = {
        str(status): int(n)
        for status, n in session.execute(
            select(h.c.status, func.count()).where(h.c.status.in_(("alert", "warning"))).group_by(h.c.status)
        )
    }
    high_risk, overdue = _risk_kpis(session, today)
    return InventoryKpis(
        models=int(models),
        in_production=int(in_production),
        with_alerts=int(health.get("alert", 0)),
        with_warnings=int(health.get("warning", 0)),
        monthly_cost=totals(costs),
        high_risk=high_risk,
        overdue_reviews=overdue,
        today=today,
    )


# --- one model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessInfo:
    name: str
    business_unit: str
    description: str
    kpi: str
    kpi_unit: str


@dataclass(frozen=True)
class HealthInfo:
    status: str
    reasons: list[str]
    updated_at: datetime | None


@dataclass(frozen=True)
class ModelCard:
    """The model-card sections of one version; ``missing`` names the sections left empty."""

    version: int
    stage: str
    sections: dict[str, str]  # title -> text ("" when not documented)
    missing: list[str]
    fields: dict[str, str] = field(default_factory=dict)  # card field -> text, as stored
    # The eight sections of core.registry.figures (the model's purpose and uses, and this card).
    completeness: CardCompleteness | None = None


@dataclass(frozen=True)
class ModelDetail:
    id: int
    name: str
    business_unit: str
    purpose: str
    intended_use: str
    out_of_scope_uses: str
    kpi: str
    task: str
    methodology: str
    target: str
    status: str
    is_vendor: bool
    vendor_name: str
    primary_metric: str
    metric_thresholds: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None
    business_process: ProcessInfo | None
    health: HealthInfo
    owners: pd.DataFrame  # role, role_label, person, email, team, active, left_on, since
    versions: pd.DataFrame  # version_id, version, stage, created_by, created_at, <metric columns>, ...
    metric_names: list[str]
    params: dict[int, dict[str, Any]]  # version -> hyper-parameters
    cards: list[ModelCard]  # newest version first
    datasets: (
        pd.DataFrame
    )  # used_as, versions, dataset, dataset_version, rows, date_from, date_to, source, ...
    deployments: pd.DataFrame  # version, environment, endpoint, business_process, since, until, active
    rules: pd.DataFrame  # rule, version, condition, outcome, status, effective_from, created_by, ...
    stage_history: pd.DataFrame  # changed_at, version, from_stage, to_stage, changed_by, reason
    production_version: int | None = None
    latest_version: int | None = None
    cost_last_30_days: dict[str, float] = field(default_factory=dict)  # core.registry.figures


def model_detail(session: Session, model_id: int) -> ModelDetail:
    """Everything the registry knows about one model (fixed number of queries)."""
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    process = session.get(BusinessProcess, model.business_process_id) if model.business_process_id else None
    health = session.get(ModelHealth, model_id)
    versions, metric_names, params, cards = _versions(session, model_id)
    cards = [
        replace(c, completeness=card_completeness({**card_values(model, None), **c.fields})) for c in cards
    ]
    production = versions.loc[versions["stage"] == "production", "version"]
    return ModelDetail(
        id=model_id,
        name=model.name,
        business_unit=model.business_unit,
        purpose=model.purpose,
        intended_use=model.intended_use,
        out_of_scope_uses=model.out_of_scope_uses,
        kpi=model.kpi,
        task=model.task,
        methodology=model.methodology,
        target=model.target,
        status=model.status,
        is_vendor=model.is_vendor,
        vendor_name=model.vendor_name,
        primary_metric=model.primary_metric,
        metric_thresholds=dict(model.metric_thresholds or {}),
        created_at=model.created_at,
        retired_at=model.retired_at,
        business_process=ProcessInfo(
            process.name, process.business_unit, process.description, process.kpi, process.kpi_unit
        )
        if process
        else None,
        health=HealthInfo(
            health.status, [m for m in _reason_text(health.reasons).split("; ") if m], health.updated_at
        )
        if health
        else HealthInfo("unknown", [], None),
        owners=model_owners(session, model_id),
        versions=versions,
        metric_names=metric_names,
        params=params,
        cards=cards,
        datasets=_datasets(session, model_id),
        deployments=_deployments(session, model_id),
        rules=_rules(session, model_id),
        stage_history=stage_history(session, model_id),
        production_version=int(production.iloc[0]) if len(production) else None,
        latest_version=int(versions["version"].max()) if len(versions) else None,
        cost_last_30_days=cost_last_30_days_of(session, model_id=model_id),
    )


def model_owners(session: Session, model_id: int) -> pd.DataFrame:
    o, p = _table(Ownership), _table(Person)
    role_order = case({r: i for i, r in enumerate(OWNERSHIP_ROLE_LABELS)}, value=o.c.role, else_=9)
    rows = session.execute(
        select(o.c.role, p.c.name, p.c.email, p.c.team, p.c.active, p.c.left_on, o.c.since, p.c.id)
        .join(p, p.c.id == o.c.person_id)
        .where(o.c.model_id == model_id)
        .order_by(role_order, p.c.name)
    )
    frame = _frame(rows, ["role", "person", "email", "team", "active", "left_on", "since", "person_id"])
    frame.insert(1, "role_label", frame["role"].map(OWNERSHIP_ROLE_LABELS))
    frame["active"] = frame["active"].astype(bool)
    _dates(frame, "since")
    return frame


def _versions(
    session: Session, model_id: int
) -> tuple[pd.DataFrame, list[str], dict[int, dict[str, Any]], list[ModelCard]]:
    v, p = _table(ModelVersion), _table(Person)
    train, evaluation = _table(Dataset).alias("train"), _table(Dataset).alias("eval")
    rows = (
        session.execute(
            select(
                v,
                p.c.name.label("created_by"),
                train.c.name.label("train_name"),
                train.c.version.label("train_version"),
                evaluation.c.name.label("eval_name"),
                evaluation.c.version.label("eval_version"),
            )
            .join(p, p.c.id == v.c.created_by_id)
            .outerjoin(train, train.c.id == v.c.training_dataset_id)
            .outerjoin(evaluation, evaluation.c.id == v.c.evaluation_dataset_id)
            .where(v.c.model_id == model_id)
            .order_by(v.c.version.desc())
        )
        .mappings()
        .all()
    )
    metric_names = sorted({k for r in rows for k in (r["metrics"] or {})})
    records = []
    for r in rows:
        record = {
            "version_id": r["id"],
            "version": r["version"],
            "stage": r["stage"],
            "created_by": r["created_by"],
            "created_at": r["created_at"],
            "description": r["description"],
            "git_commit": r["git_commit"],
            "artifact_uri": r["artifact_uri"],
            "artifact_format": r["artifact_format"],
            "artifact_sha256": r["artifact_sha256"],
            "source_uri": r["source_uri"],
            "source_sha256": r["source_sha256"],
            "training_data": _dataset_label(r["train_name"], r["train_version"]),
            "evaluation_data": _dataset_label(r["eval_name"], r["eval_version"]),
        }
        record.update({f"metric:{k}": _number(r["metrics"].get(k)) for k in metric_names})
        records.append(record)
    columns = [
        "version_id",
        "version",
        "stage",
        "created_by",
        "created_at",
        "description",
        "git_commit",
        "artifact_uri",
        "artifact_format",
        "artifact_sha256",
        "source_uri",
        "source_sha256",
        "training_data",
        "evaluation_data",
        *[f"metric:{k}" for k in metric_names],
    ]
    frame = pd.DataFrame(records, columns=columns)
    _dates(frame, "created_at")
    params = {int(r["version"]): dict(r["params"] or {}) for r in rows}
    cards = [_card(r) for r in rows]
    return frame, metric_names, params, cards


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _dataset_label(name: str | None, version: str | None) -> str:
    return f"{name} ({version})" if name else ""


def _card(row: Any) -> ModelCard:
    sections = {title: (row[key] or "").strip() for key, title in CARD_SECTION_TITLES.items()}
    return ModelCard(
        version=int(row["version"]),
        stage=row["stage"],
        sections=sections,
        missing=[t for t, text in sections.items() if not text],
        fields={key: row[key] or "" for key in CARD_SECTION_TITLES},
    )


def _datasets(session: Session, model_id: int) -> pd.DataFrame:
    """Training, evaluation, drift reference and SHAP background datasets of the model's versions,
    one row per dataset and use, with where its data is kept."""
    v, d, s = _table(ModelVersion), _table(Dataset), _table(DataSource)
    frames = []
    for used_as, column in (
        ("Training", v.c.training_dataset_id),
        ("Evaluation", v.c.evaluation_dataset_id),
        ("Drift reference", v.c.reference_dataset_id),
        ("SHAP background", v.c.background_dataset_id),
    ):
        rows = session.execute(
            select(
                v.c.version,
                d.c.name,
                d.c.version,
                d.c.row_count,
                d.c.date_from,
                d.c.date_to,
                s.c.name,
                d.c.content_hash,
                d.c.uri,
                d.c.storage,
            )
            .join(d, d.c.id == column)
            .outerjoin(s, s.c.id == d.c.data_source_id)
            .where(v.c.model_id == model_id)
        )
        frame = _frame(
            rows,
            [
                "model_version",
                "dataset",
                "dataset_version",
                "rows",
                "date_from",
                "date_to",
                "source",
                "content_hash",
                "uri",
                "storage",
            ],
        )
        frame.insert(0, "used_as", used_as)
        frames.append(frame)
    both = pd.concat(frames, ignore_index=True)
    if both.empty:
        return both.drop(columns=["model_version"]).assign(
            versions=pd.Series(dtype=str), kept=pd.Series(dtype=str)
        )
    keys = ["used_as", "dataset", "dataset_version"]
    grouped = (
        both.groupby(keys, sort=False, dropna=False)
        .agg(
            versions=("model_version", lambda s: ", ".join(f"v{x}" for x in sorted(set(s)))),
            rows=("rows", "first"),
            date_from=("date_from", "first"),
            date_to=("date_to", "first"),
            source=("source", "first"),
            content_hash=("content_hash", "first"),
            uri=("uri", "first"),
            storage=("storage", "first"),
        )
        .reset_index()
    )
    grouped["kept"] = grouped["storage"].map(KEPT).fillna("location only")
    return grouped


KEPT = {"store": "in the artifact store", "external": "at its location (hash-checked)"}


def _deployments(session: Session, model_id: int) -> pd.DataFrame:
    v, dep, bp = _table(ModelVersion), _table(Deployment), _table(BusinessProcess)
    rows = session.execute(
        select(v.c.version, dep.c.environment, dep.c.endpoint, bp.c.name, dep.c.since, dep.c.until)
        .join(v, v.c.id == dep.c.model_version_id)
        .outerjoin(bp, bp.c.id == dep.c.business_process_id)
        .where(v.c.model_id == model_id)
        .order_by(dep.c.since.desc())
    )
    frame = _frame(rows, ["version", "environment", "endpoint", "business_process", "since", "until"])
    _dates(frame, "since", "until")
    frame["active"] = frame["until"].isna()
    return frame


def _rules(session: Session, model_id: int) -> pd.DataFrame:
    """Every version of every business rule of the model, newest version of each rule first."""
    r, p, v = _table(BusinessRule), _table(Person), _table(ModelVersion)
    rows = session.execute(
        select(
            r.c.name,
            r.c.version,
            r.c.operator,
            r.c.threshold,
            r.c.outcome,
            r.c.status,
            r.c.effective_from,
            r.c.effective_to,
            p.c.name,
            r.c.created_at,
            v.c.version,
            r.c.description,
        )
        .join(p, p.c.id == r.c.created_by_id)
        .outerjoin(v, v.c.id == r.c.model_version_id)
        .where(r.c.model_id == model_id)
        .order_by(r.c.name, r.c.version.desc())
    )
    frame = _frame(
        rows,
        [
            "rule",
            "version",
            "operator",
            "threshold",
            "outcome",
            "status",
            "effective_from",
            "effective_to",
            "created_by",
            "created_at",
            "model_version",
            "description",
        ],
    )
    frame.insert(
        2,
        "condition",
        [
            f"{outcome} if score {op} {t:g}"
            for outcome, op, t in zip(frame["outcome"], frame["operator"], frame["threshold"], strict=True)
        ],
    )
    frame["model_version"] = frame["model_version"].astype("Int64")
    _dates(frame, "effective_from", "effective_to", "created_at")
    return frame


def stage_history(session: Session, model_id: int) -> pd.DataFrame:
    """Every stage change of the model's versions, newest first."""
    sc, v, p = _table(StageChange), _table(ModelVersion), _table(Person)
    rows = session.execute(
        select(sc.c.changed_at, v.c.version, sc.c.from_stage, sc.c.to_stage, p.c.name, sc.c.reason)
        .join(v, v.c.id == sc.c.model_version_id)
        .join(p, p.c.id == sc.c.changed_by_id)
        .where(sc.c.model_id == model_id)
        .order_by(sc.c.changed_at.desc(), sc.c.id.desc())
    )
    frame = _frame(rows, ["changed_at", "version", "from_stage", "to_stage", "changed_by", "reason"])
    _dates(frame, "changed_at")
    return frame


@dataclass(frozen=True)
class VersionRef:
    version_id: int
    version: int


def production_version_on(session: Session, model_id: int, when: datetime) -> VersionRef | None:
    """The version that was in production at ``when`` (tz-aware), replayed from the stage history
    after checking it against the chained audit events (IntegrityViolation if it was edited).

    Changes at the same instant apply in the order they were written, so a promotion that
    archived its predecessor at the same timestamp reads correctly.
    """
    if when.tzinfo is None:
        raise ValueError("production_version_on needs a timezone-aware datetime")
    audit.ensure_stage_history(session, model_id)  # an edited stage history is refused, not answered
    sc, v = _table(StageChange), _table(ModelVersion)
    rows = session.execute(
        select(sc.c.model_version_id, v.c.version, sc.c.from_stage, sc.c.to_stage)
        .join(v, v.c.id == sc.c.model_version_id)
        .where(sc.c.model_id == model_id, sc.c.changed_at <= when)
        .order_by(sc.c.changed_at, sc.c.id)
    ).all()
    current: VersionRef | None = None
    for version_id, version, from_stage, to_stage in rows:
        if to_stage == "production":
            current = VersionRef(int(version_id), int(version))
        elif from_stage == "production" and current is not None and current.version_id == version_id:
            current = None
    return current


def prediction_volume(
    session: Session, model_id: int, *, days: int = 365, today: date | None = None
) -> pd.DataFrame:
    """Predictions per day and version over the last ``days`` days (columns day, version, predictions)."""
    today = _today(today)
    pdl, v = _table(PredictionDaily), _table(ModelVersion)
    rows = session.execute(
        select(pdl.c.day, v.c.version, pdl.c.n)
        .join(v, v.c.id == pdl.c.model_version_id)
        .where(v.c.model_id == model_id, pdl.c.day > today - timedelta(days=days), pdl.c.day <= today)
        .order_by(pdl.c.day, v.c.version)
    )
    frame = _frame(rows, ["day", "version", "predictions"])
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


# --- choosing a model -------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    id: int
    name: str
    business_unit: str


def model_choices(session: Session) -> list[ModelChoice]:
    """Every model, by name, for selectors."""
    m = _table(Model)
    rows = session.execute(select(m.c.id, m.c.name, m.c.business_unit).order_by(m.c.name))
    return [ModelChoice(int(i), n, u) for i, n, u in rows]


# --- owners and knowledge-loss risk ------------------------------------------------------------

ROLE_COLUMNS = list(OWNERSHIP_ROLE_LABELS.values())


@dataclass(frozen=True)
class OwnersOverview:
    """Who answers for what, and where knowledge could be lost.

    ``matrix``: one row per live model, one column per ownership role (names; "(left)"
    marks people who left). ``people``: one row per person holding a role, with counts.
    ``flags``: one row per knowledge-loss risk (owner left, no backup, no accountable or
    technical owner, a person who owns many models). ``assignments``: the raw pairs.
    """

    assignments: pd.DataFrame
    matrix: pd.DataFrame
    people: pd.DataFrame
    flags: pd.DataFrame
    teams: list[str]
    persons: list[tuple[int, str]]  # (person id, name) of everyone holding a role


def owners_overview(session: Session) -> OwnersOverview:
    """People and their roles per model, with knowledge-loss flags (retired models left out)."""
    m, o, p = _table(Model), _table(Ownership), _table(Person)
    rows = session.execute(
        select(
            m.c.id,
            m.c.name,
            m.c.business_unit,
            o.c.role,
            p.c.id,
            p.c.name,
            p.c.email,
            p.c.team,
            p.c.active,
            p.c.left_on,
        )
        .select_from(m)
        .outerjoin(o, o.c.model_id == m.c.id)
        .outerjoin(p, p.c.id == o.c.person_id)
        .where(m.c.status != "retired")
        .order_by(m.c.name, p.c.name)
    )
    raw = _frame(
        rows,
        [
            "model_id",
            "model",
            "business_unit",
            "role",
            "person_id",
            "person",
            "email",
            "team",
            "active",
            "left_on",
        ],
    )
    assignments = raw[raw["role"].notna()].copy()
    assignments["person_id"] = assignments["person_id"].astype(int)
    assignments["active"] = assignments["active"].astype(bool)
    assignments["role_label"] = assignments["role"].map(OWNERSHIP_ROLE_LABELS)
    models = raw[["model_id", "model", "business_unit"]].drop_duplicates("model_id").reset_index(drop=True)
    people = _people(assignments)
    return OwnersOverview(
        assignments=assignments.reset_index(drop=True),
        matrix=_matrix(models, assignments),
        people=people,
        flags=_flags(models, assignments, people),
        teams=sorted(t for t in assignments["team"].dropna().unique() if t),
        persons=[(int(i), n) for i, n in people[["person_id", "person"]].itertuples(index=False)],
    )


def _display_names(assignments: pd.DataFrame) -> pd.Series:
    """Names with "(left)" after people who left."""
    return assignments["person"].where(assignments["active"], assignments["person"] + " (left)")


def _matrix(models: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    matrix = models.copy()
    named = assignments.assign(display=_display_names(assignments))
    for role, label in OWNERSHIP_ROLE_LABELS.items():
        holders = named[named["role"] == role]
        shared = holders["model_id"].duplicated(keep=False)
        # Joining strings per group is slow in pandas; only roles held by several people need it.
        names = pd.concat(
            [
                holders.loc[~shared].set_index("model_id")["display"],
                holders.loc[shared].groupby("model_id")["display"].agg(", ".join),
            ]
        )
        matrix[label] = matrix["model_id"].map(names).fillna("")
    return matrix


def _people(assignments: pd.DataFrame) -> pd.DataFrame:
    columns = ["person_id", "person", "email", "team", "active", "left_on"]
    if assignments.empty:
        return pd.DataFrame(columns=[*columns, *ROLE_COLUMNS, "models", "owned", "owns_many"])
    counts = (
        assignments.groupby(["person_id", "role"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(OWNERSHIP_ROLE_LABELS), fill_value=0)
    )
    counts.columns = ROLE_COLUMNS
    people = assignments[columns].drop_duplicates("person_id").set_index("person_id").join(counts)
    people["models"] = assignments.groupby("person_id")["model_id"].nunique()
    owned = assignments[assignments["role"].isin(("business_owner", "technical_owner"))]
    people["owned"] = (
        owned.groupby("person_id")["model_id"].nunique().reindex(people.index).fillna(0).astype(int)
    )
    people["owns_many"] = people["owned"] >= MANY_MODELS_THRESHOLD
    return (
        people.reset_index()
        .sort_values(["models", "person"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


FLAG_COLUMNS = ["model_id", "model", "business_unit", "person", "risk", "detail"]
_MISSING_ROLE_FLAGS = {
    "business_owner": ("No accountable owner", "Nobody answers for this model's business use."),
    "technical_owner": ("No technical owner", "Nobody is named to maintain this model."),
    "backup": ("No backup", "If the owners leave, nobody else knows this model."),
}


def _flags(models: pd.DataFrame, assignments: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """One row per risk: the knowledge gaps (``core.registry.knowledge``: a holder of a knowledge
    role who left is "Owner has left", a role never filled is "No ..."), then the people who own
    many models."""
    holders = [
        Holder(int(r.model_id), r.role, int(r.person_id), r.person, bool(r.active), _day(r.left_on))
        for r in assignments.itertuples()
    ]
    names = models.set_index("model_id")
    rows: list[tuple[int | None, str, str, str, str, str]] = []
    for gap in knowledge_gaps(holders, models["model_id"].tolist()):
        model = names.loc[gap.model_id]
        if gap.kind == "left":
            role = OWNERSHIP_ROLE_LABELS[gap.role].lower()
            when = f" on {gap.left_on:%Y-%m-%d}" if gap.left_on else ""
            then = "" if gap.covered else f" Name a new {role}."
            risk, detail, person = "Owner has left", f"{role.capitalize()}, left{when}.{then}", gap.person
        else:
            (risk, detail), person = _MISSING_ROLE_FLAGS[gap.role], ""
        rows.append((gap.model_id, model["model"], model["business_unit"], person, risk, detail))
    many = people[people["owns_many"].astype(bool)]
    rows += [
        (
            None,
            "",
            "",
            person,
            "Owns many models",
            f"Accountable or technical owner of {int(o)} models; a role on {int(n)} in all.",
        )
        for person, o, n in zip(many["person"], many["owned"], many["models"], strict=True)
    ]
    frame = pd.DataFrame(rows, columns=FLAG_COLUMNS)
    frame["model_id"] = frame["model_id"].astype("Int64")
    return frame


def _day(value: Any) -> date | None:
    """A left_on value from a frame (a date, a Timestamp, NaT or None) as a date or None."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.date() if isinstance(value, datetime) else value


def filter_owners(
    overview: OwnersOverview, *, person_id: int | None = None, team: str = ""
) -> OwnersOverview:
    """The part of ``overview`` concerning one person and/or one team (their models and themselves)."""
    chosen = overview.assignments
    if person_id is not None:
        chosen = chosen[chosen["person_id"] == person_id]
    if team:
        chosen = chosen[chosen["team"] == team]
    if person_id is None and not team:
        return overview
    model_ids = set(chosen["model_id"])
    person_ids = set(chosen["person_id"])
    people = overview.people[overview.people["person_id"].isin(person_ids)].reset_index(drop=True)
    names = set(people["person"])
    flags = overview.flags[
        overview.flags["model_id"].isin(model_ids)
        | (overview.flags["model_id"].isna() & overview.flags["person"].isin(names))
    ]
    return OwnersOverview(
        assignments=chosen.reset_index(drop=True),
        matrix=overview.matrix[overview.matrix["model_id"].isin(model_ids)].reset_index(drop=True),
        people=people,
        flags=flags.reset_index(drop=True),
        teams=overview.teams,
        persons=overview.persons,
    )


__all__ = [
    "CARD_SECTION_TITLES",
    "INVENTORY_COLUMNS",
    "INVENTORY_SORTS",
    "MANY_MODELS_THRESHOLD",
    "OWNERSHIP_ROLE_LABELS",
    "HealthInfo",
    "InventoryFilter",
    "InventoryKpis",
    "InventoryOptions",
    "ModelCard",
    "ModelChoice",
    "ModelDetail",
    "OwnersOverview",
    "ProcessInfo",
    "VersionRef",
    "filter_inventory",
    "filter_owners",
    "inventory",
    "InventorySnapshot",
    "inventory_and_kpis",
    "inventory_kpis",
    "inventory_options",
    "inventory_search_text",
    "inventory_snapshot",
    "costs_last_30_days",
    "model_choices",
    "model_detail",
    "model_owners",
    "owners_overview",
    "prediction_volume",
    "production_version_on",
    "stage_history",
]
