"""Model: everything the registry knows about one model. The ``model`` query parameter makes
the page shareable."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import charts, empty, links, model_view, promotion, risk_view, rules_view
from app.components.text import plain

SELECT_KEY = "model.select"
SYNCED_KEY = "model.synced_param"  # the ``model`` query parameter this page last acted on
LAST_KEY = "model.last"  # survives visits to other pages (widget state does not)
VOLUME_DAYS = 365

choices = {c.id: c for c in cache.model_choices()}
if not choices:
    st.title("Model")
    empty.empty_registry()
    st.stop()

param = st.query_params.get("model")
if param != st.session_state.get(SYNCED_KEY):  # arrived by a link or from the inventory: the URL wins
    st.session_state[SYNCED_KEY] = param
    by_name = {c.name.casefold(): i for i, c in choices.items()}
    if param is not None and param.isdigit() and int(param) in choices:
        st.session_state[SELECT_KEY] = int(param)
    elif param is not None and param.strip().casefold() in by_name:  # a link may name the model
        st.session_state[SELECT_KEY] = by_name[param.strip().casefold()]
    elif param is not None:
        st.warning(f"There is no model {plain(repr(param))} (by id or name); showing another model instead.")
if st.session_state.get(SELECT_KEY) not in choices:
    last = st.session_state.get(LAST_KEY)
    st.session_state[SELECT_KEY] = last if last in choices else next(iter(choices))
pick_col, share_col = st.columns([4, 1], vertical_alignment="bottom")
model_id = pick_col.selectbox(
    "Model",
    list(choices),
    key=SELECT_KEY,
    format_func=lambda i: f"{choices[i].name} ({choices[i].business_unit})",
)
st.query_params["model"] = st.session_state[SYNCED_KEY] = str(model_id)
st.session_state[LAST_KEY] = model_id
with share_col:
    links.share_popover("model", model=model_id)

detail = cache.model_detail(model_id)
model_view.header(detail)
links.model_page_links(model_id)
model_view.purpose(detail)
model_view.owners(detail)
risk_view.model_risk(model_id)  # risk tier and re-assessment flags (governance)
model_view.versions(detail)

card_tab, volume_tab, data_tab, rules_tab, history_tab = st.tabs(
    ["Model card", "Prediction volume", "Data and deployments", "Business rules", "Stage history"]
)
with card_tab:
    cards = {c.version: c for c in detail.cards}
    if cards:
        default = model_view.default_card_version(detail)
        version = st.selectbox(
            "Version",
            list(cards),
            key="model.card.version",
            format_func=lambda v: f"v{v}",
            width=200,
            index=list(cards).index(default) if default in cards else 0,
        )
        model_view.model_card(cards[version])
    else:
        st.caption("No versions registered yet, so no model card.")
with volume_tab:
    charts.prediction_volume_chart(
        cache.prediction_volume(model_id, VOLUME_DAYS), days=VOLUME_DAYS, key="model.volume"
    )
with data_tab:
    model_view.data_and_deployments(detail)
with rules_tab:
    rules_view.history(model_id)  # every version, who proposed and who approved it
    rules_view.forms(model_id, detail.business_unit)
with history_tab:
    model_view.stage_history(detail)

st.subheader("Promotions")
promotion.model_promotions(model_id)  # production history, pending requests, "Request promotion" for owners
