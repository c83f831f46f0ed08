"""Model: everything the registry knows about one model. The ``model`` query parameter (an id or
a name) makes the page shareable."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import charts, empty, links, model_view
from app.components.choice import choose
from app.components.text import plain
from app.panels import datasets, model_forms, promotion, retention, retraining, rules
from app.panels import risk as risk_panel

VOLUME_DAYS = 365

choices = {c.id: c for c in cache.model_choices()}
if not choices:
    st.title("Model")
    empty.empty_registry()
    st.stop()

by_name = {c.name.casefold(): i for i, c in choices.items()}
pick_col, share_col = st.columns([4, 1], vertical_alignment="bottom")
with pick_col:
    model_id = choose(
        "Model",
        list(choices),
        key="model.select",
        param="model",  # an id, or a link may name the model
        lookup=lambda raw: int(raw) if raw.isdigit() else by_name.get(raw.strip().casefold()),
        on_unknown=lambda raw: st.warning(
            f"There is no model {plain(repr(raw))} (by id or name); showing another model instead."
        ),
        format_func=lambda i: f"{choices[i].name} ({choices[i].business_unit})",
    )
with share_col:
    links.share_popover("model", model=model_id)

detail = cache.model_detail(model_id)
model_view.header(detail)
links.model_page_links(model_id)
model_view.purpose(detail)
model_forms.details(model_id)  # purpose, uses, KPI, methodology, process, status
model_view.owners(detail)
risk_panel.model_risk(model_id)  # risk tier and re-assessment flags (governance)
model_view.versions(detail)

card_tab, volume_tab, data_tab, rules_tab, history_tab = st.tabs(
    ["Model card", "Prediction volume", "Data and deployments", "Business rules", "Stage history"]
)
with card_tab:
    model_view.model_cards(detail)
    model_forms.card(model_id, detail.business_unit)  # a new revision, never an overwrite
with volume_tab:
    charts.prediction_volume_chart(
        cache.prediction_volume(model_id, days=VOLUME_DAYS), days=VOLUME_DAYS, key="model.volume"
    )
    retention.model_panel(model_id, detail.business_unit)  # how long raw rows are kept; owners change it
with data_tab:
    model_view.data_and_deployments(detail)
    model_forms.deployments(model_id, detail.business_unit)
    datasets.upload(model_id, detail.business_unit, detail.versions)  # keep a version's data in Steward
with rules_tab:
    rules.history(model_id)  # every version, who proposed and who approved it
    rules.forms(model_id, detail.business_unit)
with history_tab:
    model_view.stage_history(detail)

retraining.model_section(model_id, detail.business_unit)  # open, answer or cancel a retraining request

st.subheader("Promotions")
promotion.model_promotions(model_id)  # production history, pending requests, "Request promotion" for owners
model_forms.retire(model_id)
