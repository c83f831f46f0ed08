"""Charts: plotly, every axis labelled with its unit. plotly is imported when a chart is drawn."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import pandas as pd
import streamlit as st

P = ParamSpec("P")
F = TypeVar("F")


def memo_figure(build: Callable[P, F]) -> Callable[P, F]:
    """``build`` (data in, plotly figure out) memoised per arguments in this process.

    Building a figure validates every property in Python and costs far more than drawing it
    again, so a rerun or another session showing the same data reuses the figure (Streamlit
    serialises it without changing it). Entries are dropped after an hour.
    """
    return st.cache_resource(show_spinner=False, max_entries=256, ttl=3600)(build)


def prediction_volume_chart(volume: pd.DataFrame, *, days: int, key: str) -> None:
    """Stacked daily bars of predictions per version (``volume``: day, version, predictions)."""
    if volume.empty:
        st.caption(f"No predictions logged in the last {days} days.")
        return
    st.plotly_chart(_volume_figure(volume, days), key=key, width="stretch")


@memo_figure
def _volume_figure(volume: pd.DataFrame, days: int) -> object:
    import plotly.graph_objects as go  # lazy: only pages that draw a chart pay for plotly

    figure = go.Figure()
    for version, rows in volume.groupby("version", sort=True):
        figure.add_bar(
            x=rows["day"],
            y=rows["predictions"],
            name=f"v{version}",
            marker_line_width=0,
            hovertemplate="%{x|%Y-%m-%d}: %{y:,} predictions<extra>v" + str(version) + "</extra>",
        )
    figure.update_layout(
        barmode="stack",
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title={"text": f"Predictions per day, last {days} days", "font": {"size": 14}},
        xaxis_title="Day (UTC)",
        yaxis_title="Predictions per day",
        legend_title_text="Version",
        bargap=0,  # one bar per day: a day without predictions shows as a gap
    )
    return figure
