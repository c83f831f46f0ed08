"""Text is text (issue 11, finding 6), in a real browser: a registry holding hostile names,
purposes, justifications, titles, reasons and instructions (Markdown images and links to another
host, raw HTML, Streamlit's colour and icon directives, bare URLs and e-mail addresses) is opened
on every page. No page makes the browser ask another host for anything, no link or image to it is
drawn, and the text reads exactly as it was typed.

The other host is 127.0.0.2 (a loopback address nothing listens on): a request to it would be seen
by ``page.on("request")`` without anything leaving the machine.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from app.navigation import every_page
from core.db.engine import make_engine, read_session, write_session
from core.demo.catalogue import EVA, LISA, PRIYA, TOM
from core.governance import meetings, promotions, risk, rules
from core.identity import personas
from core.monitoring import labelling
from core.registry import services
from tests.e2e.app_driver import choose, open_app, shot
from tests.e2e.conftest import registry_inventory

pytestmark = pytest.mark.e2e

OTHER = "http://127.0.0.2:9"
# Names are single lines without < or > (core refuses them); everything else is allowed.
NAME = (
    f"Hostile ![n]({OTHER}/name.png) [here]({OTHER}/) **bold** :red[red] :material/home: owner@evil.example"
)
TEXT = (
    f'<img src="{OTHER}/html.png"> ![t]({OTHER}/text.png) [link]({OTHER}/) <b>raw</b> https://evil.example/x '
    "*it* `code` $x^2$ &lt;entity&gt;\n# not a heading\n1. not a list"
)
JOINER = "\u2060"  # invisible: what breaks autolinks in the escaped text


def _people(engine) -> dict[str, object]:
    with read_session(engine) as s:
        return {p.email: p.actor for p in personas(s)}


def _hostile_registry(url: str, inventory) -> dict[str, int]:
    """Hostile text in every kind of record the pages show; the ids to open them by."""
    engine = make_engine(url)
    try:
        who = _people(engine)
        tom, eva, priya = who[TOM], who[EVA], who[PRIYA]
        unit = "Credit risk"
        with write_session(engine) as s:
            model_id = services.register_model(
                s,
                actor=tom,
                name=NAME,
                business_unit=unit,
                purpose=TEXT,
                intended_use=TEXT,
                out_of_scope_uses=TEXT,
                methodology=NAME,
                target=NAME,
                kpi=NAME,
            )
        with write_session(engine) as s:
            version_id = services.register_version(
                s, actor=tom, model_id=model_id, metrics={"roc_auc": 0.8}, description=TEXT
            )
        with write_session(engine) as s:
            request_id = promotions.request_promotion(
                s, actor=tom, version_id=version_id, target_stage="staging", justification=TEXT
            )
        with write_session(engine) as s:
            promotions.add_comment(s, actor=priya, request_id=request_id, body=TEXT)
        with write_session(engine) as s:
            services.create_person(s, actor=eva, name=NAME, email="mallory@evil.example", team=NAME, roles=[])
        low = [{"category": c, "likelihood": 2, "impact": 2, "mitigations": TEXT} for c in risk.RISK_LABELS]
        with write_session(engine) as s:
            risk.assess_model(
                s,
                actor=tom,
                model_id=model_id,
                scores=low,
                materiality="low",
                ai_act_class="minimal",
                rationale=TEXT,
                human_oversight=TEXT,
            )
        with write_session(engine) as s:
            rules.propose_rule(
                s,
                actor=tom,
                model_id=model_id,
                name=NAME,
                operator=">=",
                threshold=0.5,
                outcome=NAME,
                description=TEXT,
            )
        with write_session(engine) as s:
            meeting_id = meetings.create_meeting(
                s,
                actor=priya,
                title=NAME,
                held_at=datetime.now(UTC) + timedelta(days=1),
                attendee_ids=[priya.id, tom.id],
            )
        production = inventory[inventory["production_version"].notna()].iloc[0]
        with write_session(engine) as s:
            labelling.create_campaign(
                s,
                actor=tom,
                model_id=int(production["model_id"]),
                size=3,
                strategy="random",
                name=NAME,
                instructions=TEXT,
            )
    finally:
        engine.dispose()
    return {"model": model_id, "request": request_id, "meeting": meeting_id}


def _visible_text(page: Page) -> str:
    return page.get_by_test_id("stMain").inner_text().replace(JOINER, "")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_hostile_text_is_shown_literally_and_fetches_nothing(new_page, fresh_app) -> None:
    ids = _hostile_registry(fresh_app.registry.url, registry_inventory(fresh_app.registry))
    app_host = urlparse(fresh_app.url).netloc
    elsewhere: list[str] = []

    def watch(page: Page) -> Page:
        page.on(
            "request",
            lambda r: (
                elsewhere.append(r.url)
                if urlparse(r.url).scheme in ("http", "https", "ws", "wss")
                and urlparse(r.url).netloc != app_host
                else None
            ),
        )
        return page

    visits = [(p.url_path, {}) for p in every_page()] + [
        ("model", {"model": ids["model"]}),
        ("promotions", {"request": ids["request"]}),
        ("meetings", {"meeting": ids["meeting"]}),
        ("risk", {"model": ids["model"]}),
        ("documentation", {"model": ids["model"]}),
        ("lineage", {"model": ids["model"]}),
    ]
    page = watch(new_page())
    for path, params in visits:
        open_app(page, fresh_app.url, path, **{"as": TOM}, **{k: str(v) for k, v in params.items()})
        main = page.get_by_test_id("stMain")
        hostile = main.locator('img[src*="127.0.0.2"], a[href*="127.0.0.2"], a[href*="evil.example"]')
        rendered = [hostile.nth(i).evaluate("e => e.outerHTML") for i in range(hostile.count())]
        assert not rendered, f"the {path} page renders hostile text as markup: {rendered}"
        expect(main.locator('a[href^="mailto:"]')).to_have_count(0)
        exceptions = page.get_by_test_id("stException")
        assert exceptions.count() == 0, f"the {path} page shows an exception: {exceptions.all_inner_texts()}"
    labeller = watch(new_page())
    open_app(labeller, fresh_app.url, "labelling", **{"as": LISA})
    assert not elsewhere, f"the browser asked another host for: {sorted(set(elsewhere))}"

    open_app(page, fresh_app.url, "model", model=str(ids["model"]), **{"as": TOM})
    title = page.get_by_test_id("stMain").locator("h1").first
    expect(title).to_be_visible()
    assert title.inner_text().replace(JOINER, "").strip() == NAME  # the title, literally
    shown = _visible_text(page)
    for line in _lines(TEXT):  # purpose, intended use, out-of-scope uses: every line as typed
        assert shown.count(line) >= 3, line
    assert f"Predicts: {NAME}" in shown
    shot(page, "text_is_text_model")

    open_app(page, fresh_app.url, "promotions", request=str(ids["request"]), **{"as": PRIYA})
    shown = _visible_text(page)
    assert f"Justification: {_lines(TEXT)[0]}" in shown and f"{NAME} v1" in shown
    shot(page, "text_is_text_request")

    open_app(page, fresh_app.url, "meetings", meeting=str(ids["meeting"]), **{"as": PRIYA})
    assert NAME in _visible_text(page)

    open_app(labeller, fresh_app.url, "labelling", **{"as": LISA})
    campaign = labeller.get_by_role("combobox", name="Campaign")
    if not re.match(r"^#\d+ Hostile ", campaign.input_value()):  # choosing the shown one runs nothing
        choose(labeller, campaign, re.compile(r"^#\d+ Hostile "), typed="Hostile")
    instructions = labeller.get_by_test_id("stAlertContentInfo")
    expect(instructions).to_have_count(1)
    written = instructions.get_by_test_id("stMarkdownContainer").inner_text()  # not the icon's name
    assert _lines(written.replace(JOINER, "")) == _lines(TEXT)
    expect(
        labeller.get_by_test_id("stMain").locator('img[src*="127.0.0.2"], a[href*="127.0.0.2"]')
    ).to_have_count(0)
    shot(labeller, "text_is_text_labelling")
    assert not elsewhere, f"the browser asked another host for: {sorted(set(elsewhere))}"
