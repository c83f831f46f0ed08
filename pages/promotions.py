"""Promotions: requests waiting for my approval, my open requests, all requests with filters, and
one request (``?request=ID``) with its frozen evidence, the diff against production and the decisions."""

from __future__ import annotations

import streamlit as st

from app import cache, identity
from app.components import promotion_view
from app.components.text import plain
from app.panels import promotion
from core.errors import NotFound

st.title("Promotions")
actor = identity.current_actor()

param = st.query_params.get("request")
if param:
    if st.button("All requests", key="promotions.back", icon=":material/arrow_back:"):
        del st.query_params["request"]
        st.rerun()
    try:
        promotion.request_view(int(param), actor)
    except (ValueError, NotFound):
        st.warning(f"There is no promotion request {plain(repr(param))}.")
    st.stop()

st.caption(
    "A model owner requests a version for staging or production; the evidence is frozen with the request; "
    "an approver who neither requested nor built it decides (two for a high-risk model)."
)
st.caption("Select a row to open the request.")
chosen = None
if actor is not None:
    st.subheader("Waiting for my approval")
    chosen = promotion_view.requests_table(
        cache.promotions_waiting_for(actor.id), key="promotions.waiting", empty="Nothing is waiting for you."
    )
    st.subheader("My open requests")
    chosen = (
        promotion_view.requests_table(
            cache.promotion_requests(requested_by_id=actor.id, status="pending"),
            key="promotions.mine",
            empty="You have no open requests.",
        )
        or chosen
    )

st.subheader("All requests")
units = cache.business_units()
choices = {c.id: c.name for c in cache.model_choices()}
f = st.columns(4)
status = f[0].selectbox(
    "Status",
    [None, "pending", "approved", "rejected", "cancelled"],
    key="promotions.filter.status",
    format_func=lambda s: s.capitalize() if s else "Any status",
)
unit = f[1].selectbox(
    "Business unit", [None, *units], key="promotions.filter.unit", format_func=lambda u: u or "All units"
)
model_id = f[2].selectbox(
    "Model",
    [None, *choices],
    key="promotions.filter.model",
    format_func=lambda i: choices[i] if i else "All models",
)
target = f[3].selectbox(
    "To",
    [None, "staging", "production"],
    key="promotions.filter.target",
    format_func=lambda t: t.capitalize() if t else "Any stage",
)
everything = cache.promotion_requests(
    status=status, business_unit=unit, model_id=model_id, target_stage=target
)
chosen = (
    promotion_view.requests_table(everything, key="promotions.all", empty="No request matches these filters.")
    or chosen
)
if chosen is not None:
    for key in ("promotions.waiting", "promotions.mine", "promotions.all"):
        st.session_state.pop(key, None)  # so that coming back to the list does not reopen the request
    st.query_params["request"] = str(chosen)
    st.rerun()
