"""Smoke test in a real browser: the three portfolio pages open on the demo registry, show
what a business owner looks for, and show no error. Screenshots go to tests/e2e/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.app_driver import assert_no_errors, go_to_page, open_app, rerun, shot

pytestmark = pytest.mark.e2e
ROW_MARKER = {"x": 15, "y": 35 + 17}  # the selection box of the first row, under the 35 px header


def _production_model(inventory) -> tuple[int, str, int]:
    """(id, name, production version) of the first model with a version in production."""
    row = inventory[inventory["production_version"].notna()].iloc[0]
    return int(row["model_id"]), str(row["name"]), int(row["production_version"])


def test_inventory_lists_the_portfolio(page: Page, app_url: str, demo_inventory) -> None:
    open_app(page, app_url)
    assert_no_errors(page)
    expect(page.get_by_role("heading", name="Model inventory")).to_be_visible()
    total = len(demo_inventory)
    expect(page.get_by_text(f"Showing {total:,} of {total:,} models")).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="In production")).to_be_visible()
    shot(page, "smoke_inventory")


def test_model_page_from_a_shared_link(page: Page, app_url: str, demo_inventory) -> None:
    model_id, name, production = _production_model(demo_inventory)
    open_app(page, app_url, "model", model=str(model_id))
    assert_no_errors(page)
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.get_by_text(f"In production: v{production}")).to_be_visible()
    expect(page.get_by_role("heading", name="Versions")).to_be_visible()
    shot(page, "smoke_model_link")


def test_model_page_opened_from_the_inventory(page: Page, app_url: str, demo_inventory) -> None:
    model_id, name, _ = _production_model(demo_inventory)
    open_app(page, app_url)
    search = page.get_by_test_id("stTextInput").filter(has_text="Search").locator("input")
    rerun(page, lambda: (search.fill(name), search.press("Enter")))
    expect(page.get_by_text(re.compile(r"Showing 1 of"))).to_be_visible()
    rerun(page, lambda: page.get_by_test_id("stDataFrame").click(position=ROW_MARKER))
    assert_no_errors(page)
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    assert f"model={model_id}" in page.url
    shot(page, "smoke_model_selected")


def test_owners_page_flags_knowledge_loss(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    go_to_page(page, "Owners")
    assert_no_errors(page)
    expect(page.get_by_role("heading", name="Owners", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Knowledge-loss risks")).to_be_visible()
    expect(page.get_by_role("heading", name="Who owns what")).to_be_visible()
    shot(page, "smoke_owners")
