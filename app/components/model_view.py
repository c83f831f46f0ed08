"""The sections of the Model page: each draws one part of a ``ModelDetail``."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app.components.status import health_badge, stage_label, status_badge
from app.components.tables import date_column, datetime_column, show_table
from app.components.text import plain
from core.registry.figures import COST_LAST_30_DAYS, money
from core.registry.reads import TASK_LABELS, ModelCard, ModelDetail

NOT_DOCUMENTED = ":orange[Not documented]"
METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "auc": "AUC",
    "accuracy": "Accuracy",
    "f1": "F1",
    "precision": "Precision",
    "recall": "Recall",
    "log_loss": "Log loss",
    "brier": "Brier score",
    "rmse": "RMSE",
    "mae": "MAE",
    "mape": "MAPE",
    "r2": "R²",
    "gini": "Gini",
    "ks": "KS",
}


def metric_label(name: str) -> str:
    return METRIC_LABELS.get(name.lower(), name.replace("_", " ").capitalize())


def _text_or_missing(text: str) -> str:
    return plain(text.strip()) if text and text.strip() else NOT_DOCUMENTED


def header(detail: ModelDetail) -> None:
    st.title(plain(detail.name), anchor=False)
    facts = [detail.business_unit, TASK_LABELS.get(detail.task, detail.task)]
    if detail.methodology:
        facts.append(detail.methodology)
    if detail.is_vendor:
        facts.append(f"vendor model ({detail.vendor_name})" if detail.vendor_name else "vendor model")
    facts.append(f"registered {detail.created_at:%Y-%m-%d}")
    if detail.retired_at:
        facts.append(f"retired {detail.retired_at:%Y-%m-%d}")
    st.caption(" · ".join(plain(f) for f in facts))
    with st.container(horizontal=True):
        status_badge(detail.status)
        health_badge(detail.health.status, detail.health.reasons)
        if detail.production_version is not None:
            st.badge(
                f"In production: v{detail.production_version}", color="green", icon=":material/rocket_launch:"
            )
        else:
            st.badge("No version in production", color="gray")
        st.badge(
            f"{COST_LAST_30_DAYS}: {money(detail.cost_last_30_days)}",
            color="gray",
            icon=":material/payments:",
        )
    if detail.health.reasons:
        st.caption("Health: " + "; ".join(plain(r) for r in detail.health.reasons))


def purpose(detail: ModelDetail) -> None:
    st.subheader("Purpose and use")
    left, middle, right = st.columns(3)
    left.markdown("**Purpose**\n\n" + _text_or_missing(detail.purpose))
    middle.markdown("**Intended use**\n\n" + _text_or_missing(detail.intended_use))
    right.markdown("**Out-of-scope uses**\n\n" + _text_or_missing(detail.out_of_scope_uses))
    facts = []
    if detail.target:
        facts.append(f"**Predicts:** {plain(detail.target)}")
    if detail.kpi:
        facts.append(f"**KPI served:** {plain(detail.kpi)}")
    process = detail.business_process
    if process:
        kpi = (
            f" — steered on {plain(process.kpi)}"
            + (f" ({plain(process.kpi_unit)})" if process.kpi_unit else "")
            if process.kpi
            else ""
        )
        facts.append(f"**Business process:** {plain(process.name)}{kpi}")
    else:
        facts.append(f"**Business process:** {NOT_DOCUMENTED}")
    st.markdown("  \n".join(facts))
    if process and process.description:
        st.caption(plain(process.description))


def owners(detail: ModelDetail) -> None:
    st.subheader("Owners")
    frame = detail.owners.assign(
        state=[
            ("Active" if a else (f"Left {d:%Y-%m-%d}" if isinstance(d, date) else "Left"))
            for a, d in zip(detail.owners["active"], detail.owners["left_on"], strict=True)
        ]
    )
    missing = [
        label
        for role, label in (
            ("business_owner", "accountable owner"),
            ("technical_owner", "technical owner"),
            ("backup", "backup"),
        )
        if role not in set(frame["role"])
    ]
    if missing:
        st.warning("No " + ", no ".join(missing) + " named.", icon=":material/person_alert:")
    show_table(
        frame,
        {
            "role_label": "Role",
            "person": "Person",
            "team": "Team",
            "email": "Email",
            "state": "Status",
            "since": date_column("Since"),
        },
        key="model.owners",
        empty="No owners named.",
    )


def versions(detail: ModelDetail) -> None:
    st.subheader("Versions")
    thresholds = [_threshold_text(m, b) for m, b in detail.metric_thresholds.items()]
    if detail.primary_metric or thresholds:
        judged = (
            f"Validation is judged on {metric_label(detail.primary_metric)}" if detail.primary_metric else ""
        )
        required = ("Required: " + ", ".join(thresholds)) if thresholds else ""
        st.caption(plain(" · ".join(filter(None, [judged, required]))))
    frame = detail.versions.assign(stage=detail.versions["stage"].map(stage_label))
    columns: dict[str, object] = {
        "version": st.column_config.NumberColumn("Version", format="v%d"),
        "stage": "Stage",
        "created_at": datetime_column("Created"),
        "created_by": "Created by",
    }
    columns.update(
        {
            f"metric:{m}": st.column_config.NumberColumn(metric_label(m), format="%.3f")
            for m in detail.metric_names
        }
    )
    columns.update(
        {
            "training_data": "Training data",
            "evaluation_data": "Evaluation data",
            "git_commit": "Code (git commit)",
            "artifact_uri": "Artifact",
            "source_uri": "Files outside Steward (e.g. MLflow)",
            "source_sha256": "Their sha256 at import",
            "description": "Notes",
        }
    )
    show_table(frame, columns, key="model.versions", empty="No versions registered yet.")
    params = {f"v{v}": p for v, p in detail.params.items() if p}
    if params:
        with st.expander("Hyper-parameters per version"):
            table = pd.DataFrame(params).astype(str).rename_axis("Parameter").reset_index()
            st.dataframe(table, hide_index=True, key="model.params")


def _threshold_text(metric: str, bound: dict[str, float]) -> str:
    limits = ([f"≥ {bound['min']:g}"] if "min" in bound else []) + (
        [f"≤ {bound['max']:g}"] if "max" in bound else []
    )
    return f"{metric_label(metric)} {' and '.join(limits)}"


def model_cards(detail: ModelDetail) -> None:
    """The model card of a version picked here (the production version's, else the newest's)."""
    cards = {c.version: c for c in detail.cards}
    if not cards:
        st.caption("No versions registered yet, so no model card.")
        return
    default = detail.production_version or detail.latest_version
    version = st.selectbox(
        "Version",
        list(cards),
        key="model.card.version",
        format_func=lambda v: f"v{v}",
        width=200,
        index=list(cards).index(default) if default in cards else 0,
    )
    model_card(cards[version])


def model_card(card: ModelCard) -> None:
    done = card.completeness
    if done is None:  # not from model_detail: the card's own sections only
        note = f"{len(card.sections) - len(card.missing)} of {len(card.sections)} card sections documented"
        missing = card.missing
    else:  # the eight sections every page counts (core.registry.figures)
        note, missing = done.text, done.missing
    if missing:
        note += " — missing: " + ", ".join(plain(m) for m in missing)
    st.caption(f"Model card of v{card.version} ({stage_label(card.stage).lower()}). {note}.")
    for title, text in card.sections.items():
        st.markdown(f"**{title}**")
        st.markdown(plain(text) if text else NOT_DOCUMENTED)


def data_and_deployments(detail: ModelDetail) -> None:
    st.markdown("**Datasets**")
    show_table(
        detail.datasets,
        {
            "used_as": "Used for",
            "dataset": "Dataset",
            "dataset_version": "Dataset version",
            "versions": "Model versions",
            "rows": st.column_config.NumberColumn("Rows", format="localized"),
            "date_from": "Data from",
            "date_to": "Data to",
            "source": "Source",
            "kept": "Data kept",
        },
        key="model.datasets",
        empty="No training or evaluation datasets referenced.",
    )
    st.markdown("**Deployments**")
    frame = detail.deployments.assign(
        state=detail.deployments["active"].map({True: "Active", False: "Ended"})
    )
    show_table(
        frame,
        {
            "version": st.column_config.NumberColumn("Version", format="v%d"),
            "environment": "Environment",
            "endpoint": "Endpoint",
            "business_process": "Business process",
            "since": date_column("Since"),
            "until": date_column("Until"),
            "state": "State",
        },
        key="model.deployments",
        empty="No deployments recorded.",
    )


def business_rules(detail: ModelDetail) -> None:
    st.caption("Rules acting on the model's output; every version of each rule is kept.")
    rules = detail.rules.assign(status=detail.rules["status"].str.capitalize())
    show_table(
        rules,
        {
            "rule": "Rule",
            "version": st.column_config.NumberColumn("Rule version", format="v%d"),
            "condition": "Condition",
            "status": "Status",
            "effective_from": date_column("In force from"),
            "effective_to": date_column("In force until"),
            "created_by": "Recorded by",
            "model_version": st.column_config.NumberColumn("For model version", format="v%d"),
            "description": "Description",
        },
        key="model.rules",
        empty="No business rules recorded.",
    )


def stage_history(detail: ModelDetail) -> None:
    frame = detail.stage_history.assign(
        from_stage=detail.stage_history["from_stage"].map(stage_label),
        to_stage=detail.stage_history["to_stage"].map(stage_label),
    )
    show_table(
        frame,
        {
            "changed_at": datetime_column("When"),
            "version": st.column_config.NumberColumn("Version", format="v%d"),
            "from_stage": "From",
            "to_stage": "To",
            "changed_by": "By",
            "reason": "Reason",
        },
        key="model.stage_history",
        empty="No stage changes yet.",
    )
