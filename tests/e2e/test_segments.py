"""The segment section of the Performance page in a real browser, on the demo: Claims triage's
web claims, whose error rate grows in that segment only, are named by a segment alert, and the
chart draws each channel's error rate with its 95% interval. Screenshot:
tests/e2e/screenshots/segments_claims_triage.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.demo import DEMO_FACTS
from tests.e2e.app_driver import choose, open_app, shot

pytestmark = pytest.mark.e2e


def test_segment_section_names_the_drifting_segment(page: Page, app_url: str, demo_inventory) -> None:
    (name, drift), *_ = DEMO_FACTS["segment_drift"].items()
    model_id = int(demo_inventory[demo_inventory["name"] == name].iloc[0]["model_id"])
    open_app(page, app_url, "performance", model=str(model_id))
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    expect(page.get_by_role("heading", name="Segments and fairness")).to_be_visible()
    subject = f"{drift['feature']} = {drift['group']}"
    expect(page.get_by_text(f"Segment accuracy: {subject}")).to_be_visible()
    segment = page.get_by_test_id("stSelectbox").filter(has_text="Segment").locator("input")
    choose(page, segment, re.compile(rf"^{drift['feature']} \(model input\)"))
    chart = page.get_by_test_id("stPlotlyChart").filter(
        has_text=f"Error rate per group of {drift['feature']}"
    )
    expect(chart).to_be_visible()
    expect(chart.get_by_text(re.compile(rf"^{drift['group']} \(n="))).to_be_visible()
    chart.scroll_into_view_if_needed()
    shot(page, "segments_claims_triage")
