"""Inventory (home): every model with owners, stage, health and cost. Search, filter, sort,
open a model, download the filtered table."""

from __future__ import annotations

import streamlit as st

from app import cache
from app.components import empty, kpis, links, tables
from app.components.status import stage_label, status_label
from core.registry.display import INVENTORY_LABELS, inventory_csv
from core.registry.reads import INVENTORY_SORTS, InventoryFilter, filter_inventory

st.title("Model inventory")
snapshot = cache.inventory()
frame = snapshot.frame
if frame.empty:
    empty.empty_registry()
    st.stop()

kpis.kpi_header(snapshot.kpis)
options = snapshot.options
search = st.text_input("Search", key="inventory.search", placeholder="Model, business unit, process or owner")
unit_col, stage_col, owner_col, status_col, sort_col = st.columns(5)
units = unit_col.multiselect("Business unit", options.units, key="inventory.filter.unit", placeholder="All")
stages = stage_col.multiselect(
    "Stage", options.stages, key="inventory.filter.stage", placeholder="All", format_func=stage_label
)
owners = owner_col.multiselect(
    "Owner",
    options.owners,
    key="inventory.filter.owner",
    placeholder="All",
    help="Accountable or technical owner.",
)
statuses = status_col.multiselect(
    "Status", options.statuses, key="inventory.filter.status", placeholder="All", format_func=status_label
)
sort = sort_col.selectbox("Sort by", list(INVENTORY_SORTS), key="inventory.sort")

view = filter_inventory(
    frame,
    InventoryFilter(
        search=search,
        units=tuple(units),
        stages=tuple(stages),
        owners=tuple(owners),
        statuses=tuple(statuses),
        sort=sort,
    ),
    search_text=snapshot.search_text,
)
count_col, more_col = st.columns([3, 2], vertical_alignment="bottom")
count_col.caption(f"Showing {len(view):,} of {len(frame):,} models. Select a row to open the model's page.")
more = more_col.multiselect(
    "More columns",
    tables.INVENTORY_MORE,
    key="inventory.columns",
    placeholder="Add columns",
    format_func=INVENTORY_LABELS.get,
    label_visibility="collapsed",
)
selected = tables.inventory_table(view, cache.inventory_table(), key="inventory.table", more=tuple(more))
if selected is not None:
    links.open_model(selected)
st.download_button(
    "Download this table (CSV)",
    data=lambda: inventory_csv(view),
    file_name="model-inventory.csv",
    mime="text/csv",
    key="inventory.download",
    on_click="ignore",
    icon=":material/download:",
)
