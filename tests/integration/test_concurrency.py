"""Sixteen deciders released together against one request: exactly one wins, every time.

Per trial a fresh request is opened; 16 threads wait on a barrier and then approve (two
approvers, four threads each), reject (a third approver) or cancel (the requester). After each
trial: one winner, 15 typed Conflicts saying who decided and when, never two production
versions, exactly one decision event, one audit event per stage change, and an intact chain.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, func
from sqlmodel import select

from core import audit
from core.access import Actor, actor_by_id
from core.db.engine import make_engine, read_session, write_session
from core.db.models import AuditEvent, ModelVersion, StageChange
from core.errors import Conflict
from core.governance import promotions
from core.registry import services
from tests.factories import make_promotable_model, make_world

TRIALS = 200
THREADS = 16


@pytest.fixture
def wide_engine(db_url: str) -> Iterator[Engine]:
    """The test registry with a connection pool wide enough for every thread at once.

    On SQLite one idle connection stays open, as in a running app with several sessions:
    otherwise every transaction that closes the last connection checkpoints the WAL, which
    only slows the test down and has nothing to do with what it checks.
    """
    if db_url.startswith("sqlite"):
        engine = make_engine(db_url)
        with engine.connect() as idle:
            idle.exec_driver_sql("SELECT 1")
            idle.commit()  # stay connected without holding a read snapshot
            yield engine
    else:
        engine = create_engine(db_url, pool_size=THREADS + 2, max_overflow=0)
        yield engine
    engine.dispose()


def _decide(engine: Engine, kind: str, actor: Actor, request_id: int) -> None:
    with write_session(engine) as s:
        if kind == "approve":
            promotions.approve(s, actor=actor, request_id=request_id, comment="ship it")
        elif kind == "reject":
            promotions.reject(s, actor=actor, request_id=request_id, comment="Not convinced by the gain.")
        else:
            promotions.cancel(s, actor=actor, request_id=request_id, comment="withdrawn")


def _race(engine: Engine, deciders: list[tuple[str, Actor]], request_id: int) -> list[tuple[str, str]]:
    barrier = threading.Barrier(len(deciders))
    outcomes: list[tuple[str, str]] = [("", "")] * len(deciders)

    def worker(i: int, kind: str, actor: Actor) -> None:
        barrier.wait()
        try:
            _decide(engine, kind, actor, request_id)
            outcomes[i] = (kind, "won")
        except Conflict as exc:
            outcomes[i] = (kind, f"conflict: {exc}")
        except Exception as exc:  # anything else is a failure of the test, reported below
            outcomes[i] = (kind, f"{type(exc).__name__}: {exc}")

    threads = [
        threading.Thread(target=worker, args=(i, kind, actor)) for i, (kind, actor) in enumerate(deciders)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


@pytest.mark.slow
def test_sixteen_deciders_exactly_one_wins(wide_engine):
    engine = wide_engine
    world = make_world(engine)
    with write_session(engine) as s:
        third = actor_by_id(
            s,
            services.create_person(
                s, actor=world.admin, name="Tess Third", email="third@example.com", roles=[("approver", "")]
            ),
        )
    model_id, versions = make_promotable_model(engine, world)
    cycle = [
        ("approve", world.approver),
        ("approve", world.approver2),
        ("reject", third),
        ("cancel", world.owner),
    ]
    deciders = [cycle[i % len(cycle)] for i in range(THREADS)]
    winners: Counter[str] = Counter()
    for trial in range(TRIALS):
        with read_session(engine) as s:
            production = s.exec(
                select(ModelVersion.id).where(
                    ModelVersion.model_id == model_id, ModelVersion.stage == "production"
                )
            ).first()
        candidate = versions[1] if production == versions[0] else versions[0]
        with write_session(engine) as s:
            request_id = promotions.request_promotion(
                s,
                actor=world.owner,
                version_id=candidate,
                target_stage="production",
                justification=f"Trial {trial}: promote the other version.",
            )
        outcomes = _race(engine, deciders, request_id)
        won = [kind for kind, result in outcomes if result == "won"]
        lost = [result for _, result in outcomes if result != "won"]
        assert len(won) == 1, (trial, outcomes)
        assert all(r.startswith(f"conflict: Request #{request_id} was already decided by ") for r in lost), (
            trial,
            lost,
        )
        winners[won[0]] += 1
        _check_registry(engine, model_id, request_id, won[0])
    print(f"\n{engine.dialect.name}: {TRIALS} trials x {THREADS} threads, winners by kind: {dict(winners)}")
    with read_session(engine) as s:
        verdict = audit.verify(s)
        stage_events = s.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "version.stage_changed")
        ).one()
        stage_rows = s.exec(select(func.count()).select_from(StageChange)).one()
    assert verdict.ok, verdict.message()
    assert stage_events == stage_rows  # one audit event per applied stage change


def _check_registry(engine: Engine, model_id: int, request_id: int, winner: str) -> None:
    with read_session(engine) as s:
        in_production = s.exec(
            select(func.count())
            .select_from(ModelVersion)
            .where(ModelVersion.model_id == model_id, ModelVersion.stage == "production")
        ).one()
        decisions = s.exec(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "promotion_request", AuditEvent.object_id == str(request_id)
            )
        ).all()
        view = promotions.request_view(s, request_id)
    assert in_production <= 1
    expected = {"approve": "approved", "reject": "rejected", "cancel": "cancelled"}[winner]
    assert view.status == expected
    assert sorted(decisions) == sorted(["promotion.requested", f"promotion.{expected}"])
    assert len(view.decisions) == 1


MODEL_TRIALS = 50


@pytest.mark.slow
def test_two_versions_of_one_model_approved_at_once_exactly_one_wins(wide_engine):
    """Two requests for different versions of one model, both frozen while no version was in
    production, approved by two approvers at the same moment. Deciding serialises on the model
    and re-checks production inside that lock, so exactly one approval wins and the other gets a
    Conflict that names the new production version; nothing is ever archived on stale evidence."""
    engine = wide_engine
    world = make_world(engine)
    for trial in range(MODEL_TRIALS):
        model_id, versions = make_promotable_model(engine, world, name=f"Race {trial}")
        with write_session(engine) as s:
            requests = [
                promotions.request_promotion(
                    s,
                    actor=world.owner,
                    version_id=version_id,
                    target_stage="production",
                    justification=f"Trial {trial}: this version should serve.",
                )
                for version_id in versions
            ]
        barrier = threading.Barrier(2)
        outcomes: list[str] = ["", ""]

        def approve(i: int, approver: Actor, barrier=barrier, requests=requests, outcomes=outcomes) -> None:
            barrier.wait()
            try:
                _decide(engine, "approve", approver, requests[i])
                outcomes[i] = "won"
            except Conflict as exc:
                outcomes[i] = f"conflict: {exc}"
            except Exception as exc:  # reported by the assertion below
                outcomes[i] = f"{type(exc).__name__}: {exc}"

        threads = [
            threading.Thread(target=approve, args=(i, who))
            for i, who in enumerate((world.approver, world.approver2))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(o == "won" for o in outcomes) == [False, True], (trial, outcomes)
        loser = next(o for o in outcomes if o != "won")
        assert "Production changed after request" in loser, (trial, loser)
        with read_session(engine) as s:
            stages = s.exec(select(ModelVersion.stage).where(ModelVersion.model_id == model_id)).all()
            archived = s.exec(
                select(func.count())
                .select_from(StageChange)
                .where(StageChange.model_id == model_id, StageChange.to_stage == "archived")
            ).one()
        assert sorted(stages) == ["none", "production"], (trial, stages)
        assert archived == 0, trial
    with read_session(engine) as s:
        assert audit.verify(s).ok
