"""Label work domain experts can do (issue 15, point 7): each case's business identifier and a link
to the system where it lives, questions about an outcome horizon that has passed, answers in the
model's words, "skip" not counted as an answer, and Krippendorff's alpha over every item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from core import clock
from core.access import actor_by_id
from core.db.engine import read_session, write_session
from core.db.models import CampaignItem, LabellingCampaign, Model, PredictionLog
from core.errors import InvalidInput
from core.monitoring import labelling
from core.registry import services
from core.registry.validation import case_link
from tests.factories import make_world
from tests.labelling_factories import LINK, claims_model


def _create(engine, actor, model_id, **kw):
    with write_session(engine) as s:
        return labelling.create_campaign(s, actor=actor, model_id=model_id, **kw)


def _next(engine, campaign_id, actor):
    with read_session(engine) as s:
        return labelling.next_case(s, campaign_id=campaign_id, labeller_id=actor.id)


def _answer(engine, actor, item_id, **kw):
    with write_session(engine) as s:
        return labelling.submit_label(s, actor=actor, item_id=item_id, **kw)


def test_case_shows_its_request_id_and_a_link_to_its_system(engine):
    world = make_world(engine)
    model_id, _ = claims_model(engine, world)
    created = _create(engine, world.owner, model_id, size=3, strategy="random", seed=2)
    case = _next(engine, created.campaign_id, world.labeller)
    assert case.request_id.startswith("CLM 2026/")
    assert case.case_url == LINK.replace(
        "{request_id}", case.request_id.replace(" ", "%20").replace("/", "%2F")
    )
    assert case_link("", "x") == "" and case_link(LINK, "") == ""


@pytest.mark.parametrize(
    "template, match",
    [
        ("javascript:alert(1)//{request_id}", "must start with http"),
        ("https://claims.example.com/cases/", "must hold \\{request_id\\}"),
        ("https://claims.example.com/{request_id}/{model}", "only hold the placeholder"),
        ("https://claims.example.com/a b/{request_id}", "without spaces"),
    ],
)
def test_bad_link_templates_are_refused_and_nothing_is_written(engine, template, match):
    world = make_world(engine)
    model_id, _ = claims_model(engine, world, n=10)
    with pytest.raises(InvalidInput, match=match), write_session(engine) as s:
        services.update_model(s, actor=world.owner, model_id=model_id, case_link_template=template)
    with pytest.raises(InvalidInput, match=match), write_session(engine) as s:
        services.register_model(
            s, actor=world.owner, name="Other", business_unit="Claims", case_link_template=template
        )
    with read_session(engine) as s:
        assert s.get(Model, model_id).case_link_template == LINK
        assert s.execute(select(func.count()).select_from(Model)).scalar_one() == 1


def test_horizon_settings_are_checked_and_audited(engine):
    world = make_world(engine)
    model_id, _ = claims_model(engine, world, n=10)
    for bad, match in [(-1, "from 0 to 3660"), (2.5, "whole number"), ("30", "whole number")]:
        with pytest.raises(InvalidInput, match=match), write_session(engine) as s:
            services.update_model(s, actor=world.owner, model_id=model_id, outcome_horizon_days=bad)
    with write_session(engine) as s:
        services.update_model(
            s,
            actor=world.owner,
            model_id=model_id,
            outcome_horizon_days=30,
            reason="fraud is confirmed within a month",
        )
    with read_session(engine) as s:
        assert s.get(Model, model_id).outcome_horizon_days == 30


def test_only_cases_whose_outcome_horizon_has_passed_are_sampled(engine):
    world = make_world(engine)
    model_id, version_id = claims_model(engine, world, n=60, days=60, horizon=30)
    created = _create(engine, world.owner, model_id, size=60, strategy="random", seed=1)
    cutoff = clock.now() - timedelta(days=30)
    with read_session(engine) as s:
        ts = (
            s.execute(
                select(PredictionLog.ts)
                .join(CampaignItem, CampaignItem.prediction_log_id == PredictionLog.id)
                .where(CampaignItem.campaign_id == created.campaign_id)
            )
            .scalars()
            .all()
        )
        eligible = s.execute(
            select(func.count()).where(
                PredictionLog.model_version_id == version_id, PredictionLog.ts <= cutoff
            )
        ).scalar_one()
    assert created.size == eligible < 60 and all(t <= cutoff for t in ts)
    assert "at least 30 days ago so that their outcome is known" in created.note
    case = _next(engine, created.campaign_id, world.labeller)
    assert case.outcome_by == case.ts + timedelta(days=30) and case.outcome_by <= clock.now()
    assert (
        case.question
        == f"By {case.outcome_by:%Y-%m-%d} (30 days after the prediction), did this happen: **fraud is confirmed**?"
    )


def test_no_case_qualifies_while_every_horizon_is_still_open(engine):
    world = make_world(engine)
    model_id, _ = claims_model(engine, world, n=20, days=10, horizon=90)
    with pytest.raises(InvalidInput, match="made at least 90 days ago"):
        _create(engine, world.owner, model_id, size=5, strategy="random")
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(LabellingCampaign)).scalar_one() == 0


def test_answers_are_shown_in_words_never_as_0_or_1(engine):
    world = make_world(engine)
    model_id, _ = claims_model(engine, world, target="")
    created = _create(engine, world.owner, model_id, size=2, strategy="random", labels_per_item=2, seed=3)
    other = _labeller(engine, world, "Omar Other")
    case = _next(engine, created.campaign_id, world.labeller)
    assert "0" not in case.question and "1" not in case.question
    assert case.question == "Did the outcome the model predicts happen?"
    _answer(engine, world.labeller, case.item_id, value=1)
    _answer(engine, other, case.item_id, value=0)
    with read_session(engine) as s:
        report = labelling.agreement(s, campaign_id=created.campaign_id)
    assert report.disagreements.loc[0, "answers"] == "Lena Labeller: Yes; Omar Other: No"
    with pytest.raises(InvalidInput, match=r"answer Yes \(1\) or No \(0\)"):
        _answer(engine, world.labeller, _next(engine, created.campaign_id, world.labeller).item_id, value=2)
    assert labelling.answer_text("binary_classification", 0.0, case.class_names) == "No"
    assert labelling.answer_text("regression", 1234.5, {}) == "1,234.50"


def _labeller(engine, world, name):
    with write_session(engine) as s:
        person = services.create_person(
            s,
            actor=world.system,
            name=name,
            email=f"{name.split()[0].lower()}@example.com",
            roles=[("labeller", "")],
        )
        return actor_by_id(s, person)


def test_skip_is_not_an_answer_for_progress_or_agreement(engine):
    world = make_world(engine)
    other = _labeller(engine, world, "Omar Other")
    model_id, _ = claims_model(engine, world)
    created = _create(engine, world.owner, model_id, size=3, strategy="random", labels_per_item=2, seed=4)
    first = _next(engine, created.campaign_id, world.labeller)
    outcome = _answer(engine, world.labeller, first.item_id, skip=True)
    assert (outcome.progress.answered_by_me, outcome.progress.skipped_by_me) == (0, 1)
    _answer(engine, other, first.item_id, value=1)
    with read_session(engine) as s:
        report = labelling.agreement(s, campaign_id=created.campaign_id)
        item = s.get(CampaignItem, first.item_id)
    # one real answer: the item still waits for a second label, and nothing is compared
    assert item.n_labels == 1 and item.status == "open"
    assert report.n_items == 0 and report.measures == []


# --- Krippendorff's alpha ----------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units, missing
# values; alpha is 0.743 (nominal) and 0.849 (interval). Unit 12 has one value only: not pairable.
KNOWN = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _known_rows() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"item_id": unit, "labeller_id": rater, "value": float(v)}
            for rater, row in enumerate(KNOWN)
            for unit, v in enumerate(row)
            if v is not None
        ]
    )


def test_alpha_matches_the_published_example_and_the_package():
    rows = _known_rows()
    matrix = np.array([[np.nan if v is None else v for v in row] for row in KNOWN], dtype=float)
    assert labelling.krippendorff_alpha(rows, "binary_classification") == pytest.approx(0.743, abs=5e-4)
    assert labelling.krippendorff_alpha(rows, "regression") == pytest.approx(0.849, abs=5e-4)
    assert labelling.krippendorff_alpha(rows, "binary_classification") == pytest.approx(
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    )
    same = pd.DataFrame({"item_id": [1, 1, 2, 2], "labeller_id": [1, 2, 1, 2], "value": [1.0] * 4})
    assert labelling.krippendorff_alpha(same, "binary_classification") is None


def test_campaign_alpha_uses_every_item_with_any_number_of_labellers(engine):
    world = make_world(engine)
    people = [world.labeller] + [_labeller(engine, world, f"Rater{i} R") for i in range(3)]
    model_id, _ = claims_model(engine, world)
    created = _create(engine, world.owner, model_id, size=5, strategy="random", labels_per_item=3, seed=6)
    # items get 3, 3, 2, 2 and 1 labels (a campaign can close before every item has its three)
    plan = [[1, 1, 1], [1, 0, 1], [0, 0], [1, 0], [1]]
    with read_session(engine) as s:
        items = (
            s.execute(
                select(CampaignItem.id)
                .where(CampaignItem.campaign_id == created.campaign_id)
                .order_by(CampaignItem.position)
            )
            .scalars()
            .all()
        )
    for item_id, values in zip(items, plan, strict=True):
        for person, value in zip(people[: len(values)], values, strict=True):
            _answer(engine, person, item_id, value=value)
    with read_session(engine) as s:
        report = labelling.agreement(s, campaign_id=created.campaign_id)
    matrix = np.full((4, 5), np.nan)
    for j, values in enumerate(plan):
        matrix[: len(values), j] = values
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert report.method == "krippendorff" and report.value == pytest.approx(expected)
    assert report.n_items == 4  # every item with two or more labels; the single label adds nothing
    # Fleiss needs the same number of labels per item and Cohen two labellers: neither applies here
    assert report.measure("fleiss") is None and report.measure("cohen") is None
    assert "over all 4 cases" in report.note


def test_question_names_the_end_of_the_horizon_of_that_prediction():
    # the date in the question is the prediction's own, not today's
    model = Model(name="m", business_unit="u", target="churns", outcome_horizon_days=1)
    ts = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert (
        labelling.question(model, ts)
        == "By 2026-02-01 (1 day after the prediction), did this happen: **churns**?"
    )
