"""Charts: plotly, every axis labelled with its unit. plotly is imported when a chart is drawn."""

from __future__ import annotations

import pandas as pd
import streamlit as st


def prediction_volume_chart(volume: pd.DataFrame, *, days: int, key: str) -> None:
    """Stacked daily bars of predictions per version (``volume``: day, version, predictions)."""
    if volume.empty:
        st.caption(f"No predictions logged in the last {days} days.")
        return
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
    st.plotly_chart(figure, key=key, width="stretch")
