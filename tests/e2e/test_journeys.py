"""The four journeys of Steward's users, in a real browser on the real app (`streamlit run`).

Each journey gets its own copy of the demo registry and its own app server (``fresh_app``), so it
starts from the demo as built and can run alone or in any order. Every key step checks that the
page shows no exception box and no error message, and saves a screenshot to
tests/e2e/screenshots/journey<N>_<step>.png.

1. A business owner finds her models in the inventory, opens one and reads why it decided what it did.
2. An owner requests a promotion; a different person, an approver, approves it; the inventory
   then shows the new production version.
3. A labeller labels cases of a campaign and sees her progress advance.
4. A review meeting is planned, presented, decides an item, and its minutes are exported.
"""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.app_driver import check, choose, go_to_page, open_app, rerun, settle
from tests.e2e.conftest import registry_inventory

pytestmark = pytest.mark.e2e

ANNA = "anna.dekker@demo.steward"  # model owner, Credit risk
RUTH = "ruth.okafor@demo.steward"  # model owner, Claims
PRIYA = "priya.shah@demo.steward"  # approver
LISA = "lisa.meyer@demo.steward"  # labeller (Claims)
MARCO = "marco.rossi@demo.steward"  # approver, organises the review meeting
ROW_MARKER = {"x": 15, "y": 35 + 17}  # the selection box of the first row, under the 35 px header


def _showing(page: Page, shown: int, total: int) -> None:
    expect(page.get_by_text(f"Showing {shown:,} of {total:,} models")).to_be_visible()


def test_owner_finds_a_model_and_reads_its_explanation(page: Page, fresh_app) -> None:
    inventory = registry_inventory(fresh_app.registry)
    unit = "Credit risk"
    mine = inventory[inventory["business_unit"] == unit]
    names = sorted(mine["name"])

    open_app(page, fresh_app.url, **{"as": ANNA})
    expect(page.get_by_role("heading", name="Model inventory")).to_be_visible()
    _showing(page, len(inventory), len(inventory))
    check(page, "journey1_1_inventory")

    choose(page, page.get_by_role("combobox", name="Business unit"), unit)
    page.keyboard.press("Escape")  # close the multiselect's list
    _showing(page, len(mine), len(inventory))
    check(page, "journey1_2_filtered")

    rerun(page, lambda: page.get_by_test_id("stDataFrame").click(position=ROW_MARKER))
    title = page.get_by_role("heading", name=re.compile("^(" + "|".join(map(re.escape, names)) + ")$"))
    expect(title).to_be_visible()  # the first row of the filtered table is one of her unit's models
    settle(page)
    name = title.inner_text().strip()
    row = mine[mine["name"] == name].iloc[0]
    assert f"model={int(row['model_id'])}" in page.url
    production = int(row["production_version"])
    expect(page.get_by_text(f"In production: v{production}")).to_be_visible()
    check(page, "journey1_3_model")

    go_to_page(page, "Explanations")
    expect(page.get_by_role("heading", name="Explanations", exact=True)).to_be_visible()
    version = page.get_by_role("combobox", name="Model version")
    choose(page, version, re.compile(rf"^{re.escape(name)} v{production} \(production"), typed=name)
    expect(version).to_have_value(re.compile(rf"^{re.escape(name)} v{production} \(production"))
    expect(page.get_by_role("heading", name="Why did the model decide this?")).to_be_visible()
    rerun(
        page, page.get_by_role("button", name="Explain this decision").click
    )  # the page loads no model unasked
    sentence = page.get_by_test_id("stAlertContentInfo").filter(has_text="because")
    expect(sentence).to_be_visible()  # the plain-language sentence of the local explanation
    expect(page.get_by_text(re.compile(r"^Additivity check"))).to_be_visible()
    check(page, "journey1_4_explanation")


def test_owner_requests_a_promotion_and_an_approver_approves_it(fresh_app, new_page) -> None:
    inventory = registry_inventory(fresh_app.registry)
    model = inventory[inventory["name"] == "Claims triage"].iloc[0]  # medium risk: one approval
    model_id, before = int(model["model_id"]), int(model["production_version"])
    candidate = before + 1  # v3, in staging; its evidence gates pass or warn in the demo
    justification = "v3 routes more simple claims to straight-through processing; shadow run was clean."

    owner = new_page()
    open_app(owner, fresh_app.url, "model", model=str(model_id), **{"as": RUTH})
    expect(owner.get_by_text(f"In production: v{before}")).to_be_visible()
    form = owner.get_by_test_id("stForm").filter(has_text="Request promotion")
    choose(owner, form.get_by_role("combobox", name="Version"), re.compile(rf"^v{candidate} "), in_form=True)
    expect(form.get_by_role("combobox", name="To")).to_have_value("Production")
    form.get_by_role("textbox", name="Justification").fill(justification)
    check(owner, "journey2_1_request_form")
    rerun(owner, form.get_by_role("button", name="Request promotion").click)
    heading = owner.get_by_role(
        "heading", name=re.compile(rf"^Request #\d+: Claims triage v{candidate} → Production")
    )
    expect(heading).to_be_visible()
    settle(owner)
    request_id = re.search(r"#(\d+)", heading.inner_text()).group(1)
    expect(owner.get_by_text(justification)).to_be_visible()
    expect(owner.get_by_role("button", name="Approve")).to_have_count(0)  # four eyes: not her own request
    check(owner, "journey2_2_requested")

    approver = new_page()  # another person, another browser
    open_app(approver, fresh_app.url, "promotions", **{"as": PRIYA})
    expect(approver.get_by_role("heading", name="Waiting for my approval")).to_be_visible()
    check(approver, "journey2_3_waiting")
    open_app(approver, fresh_app.url, "promotions", request=request_id, **{"as": PRIYA})
    expect(approver.get_by_text("Requested by Ruth Okafor")).to_be_visible()
    approve = approver.get_by_test_id("stForm").filter(has=approver.get_by_role("button", name="Approve"))
    approve.get_by_role("textbox", name="Comment (optional)").fill("Evidence reviewed; fine to go live.")
    check(approver, "journey2_4_to_approve")
    rerun(approver, approve.get_by_role("button", name="Approve").click)
    expect(
        approver.get_by_text(f"Approved: Claims triage v{candidate} is now in production.")
    ).to_be_visible()
    settle(approver)
    check(approver, "journey2_5_approved")

    open_app(approver, fresh_app.url, **{"as": PRIYA})
    search = approver.get_by_test_id("stTextInput").filter(has_text="Search").locator("input")
    rerun(approver, lambda: (search.fill("Claims triage"), search.press("Enter")))
    _showing(approver, 1, len(inventory))
    check(approver, "journey2_6_inventory")
    with approver.expect_download() as download:  # the table is a canvas: read what it shows from its CSV
        approver.get_by_role("button", name="Download this table (CSV)").click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    header, rows = lines[0].split(","), [line for line in lines[1:] if line.startswith("Claims triage,")]
    assert len(rows) == 1, lines
    assert rows[0].split(",")[header.index("Production version")] == str(candidate), lines
    rerun(approver, lambda: approver.get_by_test_id("stDataFrame").click(position=ROW_MARKER))
    expect(approver.get_by_text(f"In production: v{candidate}")).to_be_visible()
    settle(approver)
    check(approver, "journey2_7_model")


def test_labeller_labels_cases_and_her_progress_advances(page: Page, fresh_app) -> None:
    open_app(page, fresh_app.url, "labelling", **{"as": LISA})
    expect(page.get_by_role("heading", name="Labelling", exact=True)).to_be_visible()
    campaign = page.get_by_role("combobox", name="Campaign")
    choose(page, campaign, re.compile(r"Claims triage"))
    progress = page.get_by_test_id("stProgress")
    expect(progress).to_contain_text("You have labelled")
    answered = int(re.search(r"labelled (\d+) case", progress.inner_text()).group(1))
    # the case's business identifier, a link to the claims system, a question about a passed horizon
    expect(page.get_by_text(re.compile(r"^Request .+ · prediction made"))).to_be_visible()
    expect(page.get_by_role("link", name="Open the case")).to_have_attribute(
        "href", re.compile(r"^https://claims\.insurer\.example/claims/")
    )
    expect(page.get_by_text(re.compile(r"\(30 days after the prediction\), did this happen"))).to_be_visible()
    check(page, "journey3_1_first_case")

    for step in range(1, 4):
        case = page.get_by_role("heading", name=re.compile(r"^Case \d+ of \d+ · Claims triage$"))
        expect(case).to_be_visible()
        position = int(re.search(r"Case (\d+) of", case.inner_text()).group(1))
        page.get_by_role("textbox", name=re.compile(r"^Comment")).fill(
            f"Checked the settled claim file ({step})."
        )
        answer = page.get_by_role("button", name=re.compile(r"^(Yes|No)$")).nth(step % 2)
        rerun(page, answer.click)
        expect(
            page.get_by_text(re.compile(rf"^Case {position} answered (Yes|No)\. Here is the next one\."))
        ).to_be_visible()
        expect(progress).to_contain_text(f"You have labelled {answered + step} case")
        expect(campaign).to_have_value(re.compile(r"Claims triage"))  # still the campaign she chose
        check(page, f"journey3_{step + 1}_labelled_{step}")

    # a skip is not an answer: the count of labels stays, the skip is shown apart
    rerun(page, page.get_by_role("button", name="Skip").click)
    expect(progress).to_contain_text(
        f"You have labelled {answered + 3} cases (1 skipped, not counted as answers)"
    )

    page.get_by_role("tab", name="Campaigns").click()  # tabs switch in the browser, without a run
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    expect(page.get_by_text("Krippendorff's alpha").first).to_be_visible()
    check(page, "journey3_5_campaigns")


def test_review_meeting_is_held_and_its_minutes_exported(page: Page, fresh_app) -> None:
    title = "Fraud model review (journey)"
    summary = "Re-assessment booked for 15 December with the fraud team."

    open_app(page, fresh_app.url, "meetings", **{"as": MARCO})
    expect(page.get_by_role("heading", name="Review meetings")).to_be_visible()
    page.get_by_test_id("stExpander").filter(has_text="Plan a new meeting").get_by_text(
        "Plan a new meeting"
    ).click()
    form = page.get_by_test_id("stForm").filter(has_text="Create meeting")
    form.get_by_role("textbox", name="Title").fill(title)
    choose(page, form.get_by_role("combobox", name="Scope"), "Fraud detection", in_form=True)
    choose(page, form.get_by_role("combobox", name="Attendees"), "Priya Shah", typed="Priya", in_form=True)
    page.keyboard.press("Escape")
    check(page, "journey4_1_plan")
    rerun(page, form.get_by_role("button", name="Create meeting and generate its agenda").click)
    expect(page.get_by_role("combobox", name="Meeting")).to_have_value(re.compile(rf"^{re.escape(title)} — "))
    agenda = page.get_by_role("heading", name=re.compile(r"^Agenda \(\d+ items, 0 decided\)"))
    expect(agenda).to_be_visible()
    settle(page)
    items = int(re.search(r"\((\d+) items", agenda.inner_text()).group(1))
    assert items >= 2, "the demo's fraud models should raise at least two agenda items"
    check(page, "journey4_2_agenda")

    presenter = page.get_by_test_id("stCheckbox").filter(has_text="Presenter mode")
    rerun(page, presenter.get_by_text("Presenter mode").click)
    expect(page.get_by_text(re.compile(rf"^Item 1 of {items} · "))).to_be_visible()
    check(page, "journey4_3_presenter_item1")
    rerun(page, page.get_by_role("button", name="Next").click)
    expect(page.get_by_text(re.compile(rf"^Item 2 of {items} · "))).to_be_visible()
    settle(page)  # "Next" may end in a second run; a click between the two can land on the old item
    decision = page.get_by_test_id("stRadio").filter(has_text="Decision")
    rerun(page, decision.get_by_text("Noted", exact=True).click)
    settle(page)
    expect(decision.get_by_role("radio", name="Noted")).to_be_checked()
    page.get_by_role("textbox", name=re.compile(r"^Comment")).fill(summary)
    rerun(page, page.get_by_role("button", name="Record decision").click)
    expect(page.get_by_text("Decision: Noted")).to_be_visible()
    expect(page.get_by_text(summary)).to_be_visible()
    settle(page)
    check(page, "journey4_4_decided")

    rerun(page, presenter.get_by_text("Presenter mode").click)
    expect(page.get_by_role("heading", name=f"Agenda ({items} items, 1 decided)")).to_be_visible()
    check(page, "journey4_5_agenda_after")

    settle(page)  # the minutes are made when asked: a run still going could drop the request
    with page.expect_download() as download:
        page.get_by_role("button", name="Minutes (HTML)").click()
    html = download.value.path().read_text(encoding="utf-8")
    assert title in html and summary in html, html[:2000]
    with page.expect_download() as download:
        page.get_by_role("button", name="Minutes (PDF)").click()
    pdf = pypdf.PdfReader(io.BytesIO(download.value.path().read_bytes()))
    text = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    assert summary in text, text[:2000]
    check(page, "journey4_6_exported")
