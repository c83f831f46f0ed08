"""Labelling campaigns: sampling strategies, the labelling flow, concurrency and agreement."""

from __future__ import annotations

import operator
import threading
from typing import NamedTuple

import numpy as np
import pytest
from sqlalchemy import func, select

from core.access import Actor, actor_by_id
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, CampaignItem, Label, LabellingCampaign, PredictionDaily, PredictionLog
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.logstore import reads
from core.monitoring import labelling
from core.registry import services
from tests.factories import make_world
from tests.feedback_factories import production_model


def _create(engine, actor, model_id, **kw):
    with write_session(engine) as s:
        return labelling.create_campaign(s, actor=actor, model_id=model_id, **kw)


def _items(engine, campaign_id):
    with read_session(engine) as s:
        rows = s.execute(
            select(
                CampaignItem.position,
                PredictionLog.id,
                PredictionLog.prediction,
                PredictionLog.score,
                PredictionLog.label,
                PredictionLog.model_version_id,
                PredictionLog.features,
            )
            .join(PredictionLog, PredictionLog.id == CampaignItem.prediction_log_id)
            .where(CampaignItem.campaign_id == campaign_id)
            .order_by(CampaignItem.position)
        ).all()
    return rows


class Logged(NamedTuple):
    id: int
    prediction: float
    score: float | None
    label: float | None


def _all_logs(engine, version_id):
    """Every logged prediction of the version (the log store), with labels given since (the registry)."""
    with read_session(engine) as s:
        stored = reads.rows(s, version_id, columns=("row_id", "prediction", "score", "label"))
        labels = dict(
            s.execute(
                select(PredictionLog.id, PredictionLog.label).where(
                    PredictionLog.model_version_id == version_id
                )
            ).all()
        )
    return [
        Logged(int(i), p, None if np.isnan(sc) else sc, labels.get(int(i), None if np.isnan(lab) else lab))
        for i, p, sc, lab in stored.itertuples(index=False)
    ]


def _labellers(engine, world, n):
    """``n`` extra labellers (the world has one)."""
    ids = []
    with write_session(engine) as s:
        for i in range(n):
            ids.append(
                services.create_person(
                    s,
                    actor=world.system,
                    name=f"Labeller {i}",
                    email=f"lab{i}@example.com",
                    roles=[("labeller", "")],
                )
            )
        return [actor_by_id(s, i) for i in ids]


def _answer(engine, actor: Actor, item_id: int, **kw):
    with write_session(engine) as s:
        return labelling.submit_label(s, actor=actor, item_id=item_id, **kw)


def _next(engine, campaign_id: int, actor: Actor):
    with read_session(engine) as s:
        return labelling.next_case(s, campaign_id=campaign_id, labeller_id=actor.id)


# --- sampling -------------------------------------------------------------------------------


def test_random_sample_has_exact_size_no_duplicates_and_only_unlabelled_rows(engine):
    world = make_world(engine)
    model_id, version_id = production_model(engine, world.owner, n=300, labelled_share=0.2)
    created = _create(engine, world.owner, model_id, size=50, strategy="random", seed=7)
    rows = _items(engine, created.campaign_id)
    assert created.size == 50 and created.note == ""
    assert len(rows) == 50 and len({r.id for r in rows}) == 50
    assert [r.position for r in rows] == list(range(1, 51))
    assert all(r.model_version_id == version_id and r.label is None for r in rows)


def test_same_seed_gives_the_same_sample(engine):
    world = make_world(engine)
    drawn = []
    for name in ("Model A", "Model B"):  # identical logged data under two models
        model_id, version_id = production_model(engine, world.owner, name=name, n=300, seed=9)
        first_id = min(r.id for r in _all_logs(engine, version_id))
        created = _create(engine, world.owner, model_id, size=20, strategy="random", seed=3)
        drawn.append([r.id - first_id for r in _items(engine, created.campaign_id)])
    assert drawn[0] == drawn[1] and len(set(drawn[0])) == 20


def test_second_campaign_never_redraws_sampled_predictions(engine):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=100)
    first = _create(engine, world.owner, model_id, size=60, strategy="random", seed=1)
    second = _create(engine, world.owner, model_id, size=60, strategy="random", seed=1)
    ids_a = {r.id for r in _items(engine, first.campaign_id)}
    ids_b = {r.id for r in _items(engine, second.campaign_id)}
    assert not ids_a & ids_b
    assert second.size == 40 and second.size_requested == 60
    assert "Only 40 predictions qualify" in second.note and "40 of the 60 requested" in second.note
    with pytest.raises(InvalidInput, match="No predictions of Credit scoring v1 qualify"):
        _create(engine, world.owner, model_id, size=5, strategy="random")
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(LabellingCampaign)).scalar_one() == 2


def test_stratified_by_predicted_class_takes_equal_numbers(engine):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=400)
    created = _create(engine, world.owner, model_id, size=40, strategy="stratified", seed=2)
    classes = [r.prediction for r in _items(engine, created.campaign_id)]
    assert classes.count(0.0) == 20 and classes.count(1.0) == 20


def test_stratified_by_segment_feature_gives_small_segments_all_they_have(engine):
    world = make_world(engine)
    model_id, version_id = production_model(engine, world.owner, n=200, seed=5)
    regions = [r for r in (row for row in _region_counts(engine, version_id))]
    created = _create(
        engine, world.owner, model_id, size=120, strategy="stratified", segment_feature="region", seed=2
    )
    drawn = [r.features["region"] for r in _items(engine, created.campaign_id)]
    counts = dict(regions)
    expected = labelling.allocate(counts, 120)
    assert {k: drawn.count(k) for k in counts} == expected
    assert expected["West"] == counts["West"]  # the smallest region gives everything it has
    assert len(drawn) == 120


def _region_counts(engine, version_id):
    from collections import Counter

    with read_session(engine) as s:
        regions = reads.rows(s, version_id, columns=("region",))["region"]
        return Counter(regions).items()


def test_allocate_is_equal_and_capped():
    assert labelling.allocate({"a": 100, "b": 100}, 10) == {"a": 5, "b": 5}
    assert labelling.allocate({"a": 2, "b": 100, "c": 100}, 30) == {"a": 2, "b": 14, "c": 14}
    assert labelling.allocate({"a": 3, "b": 4}, 50) == {"a": 3, "b": 4}


def test_segment_feature_must_exist(engine):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=50)
    with pytest.raises(InvalidInput, match="segment feature 'colour' is not a feature"):
        _create(engine, world.owner, model_id, size=5, strategy="stratified", segment_feature="colour")


@pytest.mark.parametrize("rule, threshold", [(None, 0.5), ((">", 0.69), 0.69)])
def test_uncertainty_takes_the_scores_nearest_the_threshold(engine, rule, threshold):
    world = make_world(engine)
    model_id, version_id = production_model(engine, world.owner, n=500, rule=rule)
    created = _create(engine, world.owner, model_id, size=25, strategy="uncertainty")
    chosen = {r.id for r in _items(engine, created.campaign_id)}
    logs = _all_logs(engine, version_id)
    nearest = sorted(logs, key=lambda r: (abs(r.score - threshold), r.id))[:25]
    assert chosen == {r.id for r in nearest}
    worst_chosen = max(abs(r.score - threshold) for r in logs if r.id in chosen)
    best_left = min(abs(r.score - threshold) for r in logs if r.id not in chosen)
    assert worst_chosen <= best_left
    with read_session(engine) as s:
        assert s.get(LabellingCampaign, created.campaign_id).decision_threshold == threshold


def test_disagreement_cases_really_disagree_and_are_capped(engine):
    world = make_world(engine)
    model_id, version_id = production_model(engine, world.owner, n=400, rule=(">", 0.69))
    logs = _all_logs(engine, version_id)
    disagreeing = {r.id for r in logs if (r.score > 0.69) != (r.prediction >= 0.5)}
    created = _create(engine, world.owner, model_id, size=500, strategy="disagreement", seed=4)
    rows = _items(engine, created.campaign_id)
    assert {r.id for r in rows} == disagreeing
    assert all(operator.gt(r.score, 0.69) != (r.prediction == 1.0) for r in rows)
    assert f"the campaign holds {len(disagreeing)} of the 500 requested" in created.note


def test_disagreement_needs_a_rule_and_uncertainty_of_regressor_needs_one(engine):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=50)
    reg_id, _ = production_model(engine, world.owner, name="Claim cost", n=50, task="regression")
    with pytest.raises(InvalidInput, match="no business rule is in force"):
        _create(engine, world.owner, model_id, size=5, strategy="disagreement")
    with pytest.raises(InvalidInput, match="uncertainty sampling of a regressor needs a business rule"):
        _create(engine, world.owner, reg_id, size=5, strategy="uncertainty")


@pytest.mark.parametrize(
    "size, match", [(0, "size must be a whole number"), (10_000, "size must be a whole number")]
)
def test_bad_sizes_are_refused(engine, size, match):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=20)
    with pytest.raises(InvalidInput, match=match):
        _create(engine, world.owner, model_id, size=size, strategy="random")


def test_only_owners_and_approvers_create_campaigns(engine):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=20)
    with pytest.raises(PermissionDenied, match="may not campaign create"):
        _create(engine, world.labeller, model_id, size=5, strategy="random")
    assert _create(engine, world.approver, model_id, size=5, strategy="random").size == 5


def test_drawn_predictions_join_the_labelled_sample_in_the_registry(engine):
    world = make_world(engine)
    model_id, version_id = production_model(engine, world.owner, n=40)
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(PredictionLog)).scalar_one() == 0
    created = _create(engine, world.owner, model_id, size=6, strategy="random", seed=3)
    rows = _items(engine, created.campaign_id)
    assert len(rows) == 6 and all(r.model_version_id == version_id and r.features for r in rows)
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(PredictionLog)).scalar_one() == 6
        stored = reads.rows(s, version_id, columns=("row_id", "prediction"))
    assert {r.id for r in rows} <= set(stored["row_id"])


# --- labelling ------------------------------------------------------------------------------


def test_label_flow_writes_prediction_log_rollup_and_audit(engine):
    world = make_world(engine)
    model_id, version_id = production_model(engine, world.owner, n=100)
    created = _create(engine, world.owner, model_id, size=3, strategy="random", seed=1)
    case = _next(engine, created.campaign_id, world.labeller)
    assert case.position == 1 and case.prediction is None and case.score is None  # hidden by default
    assert [name for name, _ in case.features] == ["income", "age", "region"]
    assert case.question == "Did this happen: **defaults within 12 months**?"
    assert case.class_names == {1: "Yes", 0: "No"}
    with read_session(engine) as s:
        log = s.get(PredictionLog, s.get(CampaignItem, case.item_id).prediction_log_id)
        rollup_before = s.get(PredictionDaily, (version_id, log.ts.date()))
    outcome = _answer(engine, world.labeller, case.item_id, value=1, comment="clear case")
    assert outcome.item_status == "final" and outcome.final_label == 1.0
    assert outcome.progress.answered_by_me == 1 and outcome.progress.remaining_for_me == 2
    with read_session(engine) as s:
        log = s.get(PredictionLog, log.id)
        rollup = s.get(PredictionDaily, (version_id, log.ts.date()))
        event = s.execute(select(AuditEvent).where(AuditEvent.action == "label.submitted")).scalar_one()
    assert log.label == 1.0 and log.labelled_by_id == world.labeller.id and log.labelled_at is not None
    assert rollup.n_labelled == rollup_before.n_labelled + 1
    assert rollup.n_correct == rollup_before.n_correct + int(log.prediction == 1.0)
    assert event.actor_id == world.labeller.id and '"comment":"clear case"' in event.after
    nxt = _next(engine, created.campaign_id, world.labeller)
    assert nxt.position == 2


def test_shown_prediction_when_campaign_allows(engine):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=30)
    created = _create(engine, world.owner, model_id, size=2, strategy="random", hide_prediction=False)
    case = _next(engine, created.campaign_id, world.labeller)
    assert case.prediction in (0.0, 1.0) and 0 <= case.score <= 1


def test_skip_and_unsure_are_never_shown_again_and_leave_the_item_open(engine):
    world = make_world(engine)
    (other,) = _labellers(engine, world, 1)
    model_id, _ = production_model(engine, world.owner, n=30)
    created = _create(engine, world.owner, model_id, size=3, strategy="random")
    first = _next(engine, created.campaign_id, world.labeller)
    _answer(engine, world.labeller, first.item_id, skip=True)
    second = _next(engine, created.campaign_id, world.labeller)
    _answer(engine, world.labeller, second.item_id, unsure=True, comment="income looks wrong")
    third = _next(engine, created.campaign_id, world.labeller)
    assert [first.position, second.position, third.position] == [1, 2, 3]
    _answer(engine, world.labeller, third.item_id, value=0)
    assert _next(engine, created.campaign_id, world.labeller) is None
    # the skipped and unsure items still need a label, so another labeller gets them
    assert _next(engine, created.campaign_id, other).position == 1
    with read_session(engine) as s:
        p = labelling.progress(s, campaign_id=created.campaign_id, labeller_id=world.labeller.id)
    # only the label is an answer: the skip and the "unsure" are counted apart
    assert (p.answered_by_me, p.unsure_by_me, p.skipped_by_me) == (1, 1, 1)
    assert (p.remaining_for_me, p.items_done, p.my_fraction) == (0, 1, 1.0)


def test_second_answer_from_another_tab_is_refused_and_the_first_kept(engine):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=30)
    created = _create(engine, world.owner, model_id, size=2, strategy="random")
    case = _next(engine, created.campaign_id, world.labeller)
    _answer(engine, world.labeller, case.item_id, value=1)
    with pytest.raises(Conflict, match="You already answered case 1"):
        _answer(engine, world.labeller, case.item_id, value=0)
    with read_session(engine) as s:
        values = s.execute(select(Label.value).where(Label.item_id == case.item_id)).scalars().all()
    assert values == [1.0]


@pytest.mark.parametrize(
    "kw, match",
    [
        ({}, "give exactly one answer"),
        ({"value": 1, "skip": True}, "give exactly one answer"),
        ({"value": 2}, "label 2 is not a class"),
        ({"value": "abc"}, "label 'abc' is not a number"),
    ],
)
def test_bad_answers_are_refused(engine, kw, match):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=20)
    created = _create(engine, world.owner, model_id, size=1, strategy="random")
    case = _next(engine, created.campaign_id, world.labeller)
    with pytest.raises(InvalidInput, match=match):
        _answer(engine, world.labeller, case.item_id, **kw)
    with pytest.raises(PermissionDenied, match="needs the role labeller"):
        _answer(engine, world.owner, case.item_id, value=1)


def test_two_labellers_disagreeing_leave_the_item_for_review(engine):
    world = make_world(engine)
    (other,) = _labellers(engine, world, 1)
    model_id, _ = production_model(engine, world.owner, n=30)
    created = _create(engine, world.owner, model_id, size=2, strategy="random", labels_per_item=2)
    case = _next(engine, created.campaign_id, world.labeller)
    _answer(engine, world.labeller, case.item_id, value=1)
    outcome = _answer(engine, other, case.item_id, value=0, comment="customer paid late twice")
    assert outcome.item_status == "disagreement" and outcome.final_label is None
    with read_session(engine) as s:
        item = s.get(CampaignItem, case.item_id)
        assert s.get(PredictionLog, item.prediction_log_id).label is None
        report = labelling.agreement(s, campaign_id=created.campaign_id)
    assert report.disagreements["position"].tolist() == [1]
    assert (
        "Lena Labeller: Yes" in report.disagreements.loc[0, "answers"]
        and "Labeller 0: No" in report.disagreements.loc[0, "answers"]
        and "paid late" in report.disagreements.loc[0, "comments"]
    )
    with pytest.raises(PermissionDenied, match="label resolve"):
        with write_session(engine) as s:
            labelling.resolve_disagreement(
                s, actor=world.owner, item_id=case.item_id, value=0, reason="checked file"
            )
    with write_session(engine) as s:
        labelling.resolve_disagreement(
            s, actor=world.approver, item_id=case.item_id, value=0, reason="checked the file"
        )
    with read_session(engine) as s:
        assert s.get(PredictionLog, item.prediction_log_id).label == 0.0


def test_three_labellers_majority_is_final(engine):
    world = make_world(engine)
    a, b = _labellers(engine, world, 2)
    model_id, _ = production_model(engine, world.owner, n=30, task="binary_classification")
    created = _create(engine, world.owner, model_id, size=1, strategy="random", labels_per_item=3)
    case = _next(engine, created.campaign_id, world.labeller)
    _answer(engine, world.labeller, case.item_id, value=1)
    _answer(engine, a, case.item_id, value=0)
    outcome = _answer(engine, b, case.item_id, value=1)
    assert outcome.item_status == "final" and outcome.final_label == 1.0


def test_regressor_labels_take_the_mean(engine):
    world = make_world(engine)
    (other,) = _labellers(engine, world, 1)
    model_id, _ = production_model(engine, world.owner, name="Claim cost", n=30, task="regression")
    created = _create(engine, world.owner, model_id, size=1, strategy="random", labels_per_item=2)
    case = _next(engine, created.campaign_id, world.labeller)
    assert case.task == "regression"
    _answer(engine, world.labeller, case.item_id, value=1000)
    outcome = _answer(engine, other, case.item_id, value=1100.5)
    assert outcome.final_label == pytest.approx(1050.25)
    with read_session(engine) as s:
        report = labelling.agreement(s, campaign_id=created.campaign_id)
    spread = report.measure("mean_abs_difference")
    assert spread is not None and spread.value == pytest.approx(100.5)


def test_closed_campaign_gives_no_more_cases(engine):
    world = make_world(engine)
    model_id, _ = production_model(engine, world.owner, n=30)
    created = _create(engine, world.owner, model_id, size=2, strategy="random")
    case = _next(engine, created.campaign_id, world.labeller)
    with write_session(engine) as s:
        labelling.close_campaign(s, actor=world.owner, campaign_id=created.campaign_id, reason="enough")
    assert _next(engine, created.campaign_id, world.labeller) is None
    with pytest.raises(Conflict, match="is closed"):
        _answer(engine, world.labeller, case.item_id, value=1)


# --- concurrency ----------------------------------------------------------------------------


def _race(engine, jobs):
    """Run (actor, item_id, value) submissions at once from threads; return outcomes by kind."""
    barrier = threading.Barrier(len(jobs))
    results: list[str] = []
    lock = threading.Lock()

    def work(actor, item_id, value):
        barrier.wait()
        try:
            _answer(engine, actor, item_id, value=value)
            kind = "ok"
        except Conflict:
            kind = "conflict"
        with lock:
            results.append(kind)

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_labellers_never_exceed_labels_per_item(engine):
    world = make_world(engine)
    people = _labellers(engine, world, 4) + [world.labeller]
    model_id, _ = production_model(engine, world.owner, n=60)
    created = _create(engine, world.owner, model_id, size=4, strategy="random", labels_per_item=2)
    with read_session(engine) as s:
        item_ids = (
            s.execute(select(CampaignItem.id).where(CampaignItem.campaign_id == created.campaign_id))
            .scalars()
            .all()
        )
    for item_id in item_ids:
        results = _race(engine, [(p, item_id, 1) for p in people])
        assert sorted(results) == ["conflict"] * 3 + ["ok"] * 2
    with read_session(engine) as s:
        counts = s.execute(
            select(Label.item_id, func.count())
            .where(Label.campaign_id == created.campaign_id)
            .group_by(Label.item_id)
        ).all()
        items = (
            s.execute(select(CampaignItem).where(CampaignItem.campaign_id == created.campaign_id))
            .scalars()
            .all()
        )
    assert sorted(c for _, c in counts) == [2, 2, 2, 2]
    assert all(i.n_labels == 2 and i.status == "final" for i in items)


def test_one_labeller_in_two_tabs_gets_one_label(engine):
    world = make_world(engine)
    model_id, version_id = production_model(engine, world.owner, n=30)
    created = _create(engine, world.owner, model_id, size=1, strategy="random")
    case = _next(engine, created.campaign_id, world.labeller)
    with read_session(engine) as s:
        before = s.execute(
            select(func.sum(PredictionDaily.n_labelled)).where(PredictionDaily.model_version_id == version_id)
        ).scalar_one()
    results = _race(engine, [(world.labeller, case.item_id, 1), (world.labeller, case.item_id, 0)])
    assert sorted(results) == ["conflict", "ok"]
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(Label)).scalar_one() == 1
        after = s.execute(
            select(func.sum(PredictionDaily.n_labelled)).where(PredictionDaily.model_version_id == version_id)
        ).scalar_one()
    assert after == before + 1


# --- agreement ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ([1, 1, 0, 0, 1, 0, 1, 1, 0, 1], [1, 0, 0, 0, 1, 1, 1, 1, 0, 1]),
        ([0, 1, 2, 2, 1, 0, 0, 1], [0, 1, 2, 1, 1, 0, 2, 1]),
        ([1, 1, 1, 0], [0, 0, 0, 1]),
    ],
)
def test_cohen_kappa_matches_sklearn(a, b):
    from sklearn.metrics import cohen_kappa_score

    assert labelling.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_cohen_kappa_known_value_and_undefined_case():
    # Wikipedia's example: 50 items, yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> po 0.7, pe 0.5, kappa 0.4
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert labelling.cohen_kappa(a, b) == pytest.approx(0.4)
    assert labelling.cohen_kappa([1, 1, 1], [1, 1, 1]) is None


def test_fleiss_kappa_matches_statsmodels():
    from statsmodels.stats.inter_rater import fleiss_kappa

    rng = np.random.default_rng(0)
    table = np.array([np.bincount(rng.integers(0, 2, 3), minlength=2) for _ in range(40)])
    assert labelling.fleiss_kappa(table) == pytest.approx(fleiss_kappa(table), abs=1e-12)
    with pytest.raises(InvalidInput, match="same number"):
        labelling.fleiss_kappa(np.array([[1, 1], [2, 1]]))


def test_campaign_agreement_uses_cohen_for_two_labellers(engine):
    world = make_world(engine)
    (other,) = _labellers(engine, world, 1)
    model_id, _ = production_model(engine, world.owner, n=60)
    created = _create(engine, world.owner, model_id, size=6, strategy="random", labels_per_item=2)
    first = [1, 1, 0, 0, 1, 0]
    second = [1, 0, 0, 0, 1, 1]
    for mine, theirs in zip(first, second, strict=True):
        case = _next(engine, created.campaign_id, world.labeller)
        _answer(engine, world.labeller, case.item_id, value=mine)
        _answer(engine, other, case.item_id, value=theirs)
    with read_session(engine) as s:
        report = labelling.agreement(s, campaign_id=created.campaign_id)
    assert report.method == "krippendorff" and report.n_items == 6 and report.n_labellers == 2
    cohen = report.measure("cohen")
    assert cohen is not None and cohen.value == pytest.approx(labelling.cohen_kappa(first, second))
    assert report.measure("fleiss") is None
    assert report.disagreements["position"].tolist() == [2, 6]
    # Six cases are too few for a kappa to mean much, and the report says so.
    assert "only 6 cases compared" in cohen.note and "indicative" in cohen.note


def test_kappa_caveat_names_small_samples_only():
    assert "only 1 case compared" in labelling._kappa_caveat(0.5, 1)
    assert labelling._kappa_caveat(0.5, labelling.KAPPA_SMALL_SAMPLE) == ""
    assert "undefined" in labelling._kappa_caveat(None, 100)


def test_campaign_agreement_uses_fleiss_for_rotating_labellers(engine):
    world = make_world(engine)
    people = _labellers(engine, world, 2) + [world.labeller]
    model_id, _ = production_model(engine, world.owner, n=60)
    created = _create(engine, world.owner, model_id, size=3, strategy="random", labels_per_item=2)
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
    pairs = [(people[0], people[1]), (people[1], people[2]), (people[0], people[2])]
    values = [(1, 1), (0, 1), (0, 0)]
    for item_id, (p, q), (u, v) in zip(items, pairs, values, strict=True):
        _answer(engine, p, item_id, value=u)
        _answer(engine, q, item_id, value=v)
    with read_session(engine) as s:
        report = labelling.agreement(s, campaign_id=created.campaign_id)
    assert report.method == "krippendorff" and report.n_labellers == 3
    fleiss = report.measure("fleiss")
    assert fleiss is not None
    assert fleiss.value == pytest.approx(labelling.fleiss_kappa(np.array([[0, 2], [1, 1], [2, 0]])))
