"""Build the demo portfolio through the registry services, then run the area steps."""

from __future__ import annotations

import tempfile
import time
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, actor_by_email, grants_of
from core.config import get_settings
from core.db.engine import read_session, write_session
from core.db.models import (
    AuditEvent,
    BusinessRule,
    CostRecord,
    Dataset,
    DataSource,
    Deployment,
    Feature,
    Model,
    ModelVersion,
    Person,
    PredictionLog,
)
from core.demo.catalogue import (
    LEAVER,
    LEAVER_LEFT_DAYS_AGO,
    MODELS,
    PERSONAS,
    PROCESSES,
    SOURCES,
    ModelPlan,
    VersionPlan,
)
from core.demo.catalogue import (
    PRIYA as RULE_APPROVER,
)
from core.demo.history import at, cost_records, final_stages, production_intervals, stage_events, traffic
from core.demo.steps import AREA_STEPS
from core.demo.training import (
    ESTIMATORS,
    TrainedVersion,
    estimator_class,
    schema_of,
    train_version,
    write_files,
)
from core.demo.worlds import WORLDS
from core.errors import InvalidInput
from core.governance import rules
from core.logstore import reads as logstore_reads
from core.registry import artifacts, ingest, services

# Sub-streams of the seed, so that changing one part of the demo leaves the others alone.
_TRAINING, _TRAFFIC, _COSTS, _COMMITS = 1, 2, 3, 4
PEOPLE_JOINED_DAYS_AGO = 1000


Progress = Callable[[str], None]


def _silent(_message: str) -> None:
    return None


def build_demo(
    engine: Engine,
    *,
    seed: int | None = None,
    today: date | None = None,
    predictions_per_day: int = 40,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build the demo portfolio into an empty registry and return what was written.

    Idempotent: when the registry already holds a model nothing is written and the result
    says ``already_built``. The same ``seed`` and ``today`` give the same registry content
    (audit timestamps and hashes aside). See ``core.demo`` for the conventions.
    ``progress`` is called with a line of text at each step (``steward demo`` prints them).
    """
    started = time.perf_counter()
    say = _timed(progress or _silent, started)
    seed = get_settings().demo_seed if seed is None else int(seed)
    today = today or clock.today()
    if predictions_per_day < 1:
        raise InvalidInput(f"predictions per day must be at least 1, got {predictions_per_day}.")
    with read_session(engine) as session:
        if session.exec(select(col(Model.id)).limit(1)).first() is not None:
            return {
                "already_built": True,
                **portfolio_counts(session),
                "seconds": round(time.perf_counter() - started, 2),
            }
    from threadpoolctl import threadpool_limits

    say("Loading the training libraries")
    _import_estimators()
    # One thread per fit: on small data, OpenMP's thread pools cost more than they save.
    with threadpool_limits(limits=1), tempfile.TemporaryDirectory(prefix="steward-demo-") as scratch:
        with write_session(engine) as session:
            if (
                session.exec(select(col(Model.id)).limit(1)).first() is not None
            ):  # built meanwhile by someone else
                return {
                    "already_built": True,
                    **portfolio_counts(session),
                    "seconds": round(time.perf_counter() - started, 2),
                }
            builder = _Builder(
                session, seed=seed, today=today, per_day=predictions_per_day, scratch=Path(scratch), say=say
            )
            builder.build()
            say("Saving the portfolio")
        base_seconds = round(time.perf_counter() - started, 2)
        steps = run_area_steps(engine, builder.context(), progress=say)
    with read_session(engine) as session:
        counts = portfolio_counts(session)
    return {
        "already_built": False,
        "seed": seed,
        "today": today.isoformat(),
        **counts,
        "area_steps": steps,
        "seconds_base": base_seconds,
        "seconds": round(time.perf_counter() - started, 2),
    }


# What ``steward demo`` says while each area step runs (a step without a line here is named by its function).
_STEP_LABELS = {
    "core.demo.monitoring_drift:populate": "Six months of monthly drift runs",
    "core.demo.monitoring:populate": "Labelling campaigns, realised performance, health and alerts",
    "core.demo.risk:populate": "Risk assessments, business rules and past review meetings",
    "core.demo.insight:populate": "Cost forecasts, budgets and global explanations",
    "core.demo.governance:populate": "Promotion requests",
    "core.demo.notify:populate": "A retraining request",
    "core.demo.risk:next_meeting": "The next review meeting and its agenda",
}


def _timed(progress: Progress, started: float) -> Progress:
    """``progress`` with the seconds since ``started`` in front of each line."""

    def say(message: str) -> None:
        progress(f"[{time.perf_counter() - started:5.0f} s] {message}…")

    return say


def run_area_steps(
    engine: Engine, context: dict[str, Any], *, progress: Progress | None = None
) -> dict[str, float]:
    """Call every step of ``AREA_STEPS`` as ``step(engine, context)``, in order.

    Returns the seconds each step took, by ``"module:function"``."""
    done: dict[str, float] = {}
    for step in AREA_STEPS:
        name = f"{step.__module__}:{step.__name__}"
        if progress is not None:
            progress(_STEP_LABELS.get(name, name))
        started = time.perf_counter()
        step(engine, context)
        done[f"{step.__module__}:{step.__name__}"] = round(time.perf_counter() - started, 2)
    return done


def portfolio_counts(session: Session) -> dict[str, int]:
    def count(column: Any, *where: Any) -> int:
        return int(session.exec(select(func.count(column)).where(*where)).one())

    return {
        "models": count(col(Model.id)),
        "business_units": int(
            session.exec(select(func.count(func.distinct(col(Model.business_unit))))).one()
        ),
        "versions": count(col(ModelVersion.id)),
        "people": count(col(Person.id)),
        "data_sources": count(col(DataSource.id)),
        "datasets": count(col(Dataset.id)),
        "features": count(col(Feature.id)),
        "deployments": count(col(Deployment.id)),
        "business_rules": count(col(BusinessRule.id)),
        "prediction_logs": logstore_reads.total_rows(session),
        "labelled_predictions": count(col(PredictionLog.id), col(PredictionLog.label).is_not(None)),
        "cost_records": count(col(CostRecord.id)),
        "audit_events": count(col(AuditEvent.id)),
    }


def _import_estimators() -> None:
    # threadpoolctl limits only the thread pools of libraries already loaded.
    for kind in ESTIMATORS:
        estimator_class(kind)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, *key])


class _Builder:
    """Writes the catalogue into one open write transaction.

    Every service call runs with the clock frozen (``core.clock.frozen``) at the moment of the
    portfolio's history it stands for, so the rows and audit events it writes carry that date.
    """

    def at(self, days_ago: int, hour: int = 9, minute: int = 0) -> datetime:
        """A UTC moment ``days_ago`` days before the demo's today, never later than now."""
        moment = at(self.today, days_ago, hour, minute)
        return min(moment, self.latest) if self.latest is not None else moment

    def on(self, days_ago: int, hour: int = 9, minute: int = 0) -> AbstractContextManager[datetime]:
        """The clock frozen at ``self.at(days_ago, hour, minute)`` for a block."""
        return clock.frozen(self.at(days_ago, hour, minute))

    def __init__(
        self,
        session: Session,
        *,
        seed: int,
        today: date,
        per_day: int,
        scratch: Path,
        say: Progress = _silent,
    ) -> None:
        self.s = session
        self.say = say
        self.seed = seed
        self.today = today
        # Built on the real today, the demo's events of "this morning" must not lie in the future:
        # moments later than now are moved to now. A demo dated in the past is never clamped,
        # so a fixed ``today`` still gives the same registry.
        now = clock.now()
        self.latest = now if today >= now.date() else None
        self.per_day = per_day
        self.scratch = scratch
        with self.on(PEOPLE_JOINED_DAYS_AGO, 8):
            self.system: Actor = services.ensure_system_person(session)
        self.people: dict[str, Actor] = {}
        self.sources: dict[str, int] = {}
        self.processes: dict[str, int] = {}
        self.models: dict[str, int] = {}
        self.versions: dict[str, dict[int, int]] = {}
        self.labels: list[dict[str, Any]] = []

    # --- the whole portfolio ---

    def build(self) -> None:
        self.say("People, data sources and business processes")
        self._people()
        self._sources_and_processes()
        for index, plan in enumerate(MODELS):
            self.say(
                f"Model {index + 1} of {len(MODELS)}: {plan.name} "
                f"(training {len(plan.versions)} version{'s' if len(plan.versions) > 1 else ''}, logging its predictions)"
            )
            self._model(index, plan)
        self.say("A year of costs")
        self._costs()
        self._leaver()
        self._date_history()

    def _people(self) -> None:
        for offset, persona in enumerate(PERSONAS, start=1):
            existing = self.s.exec(select(Person).where(col(Person.email) == persona.email)).first()
            if existing is None:
                with self.on(PEOPLE_JOINED_DAYS_AGO, 8, offset):
                    services.create_person(
                        self.s,
                        actor=self.system,
                        name=persona.name,
                        email=persona.email,
                        team=persona.team,
                        roles=persona.roles,
                    )
            else:  # registered by hand before the demo: keep the person, add missing roles
                person_id = int(existing.id or 0)
                held = {(g.role, g.business_unit) for g in grants_of(self.s, person_id)}
                for role, unit in persona.roles:
                    if (role, unit) not in held:
                        services.grant_role(  # today: the roles are granted by this build
                            self.s, actor=self.system, person_id=person_id, role=role, business_unit=unit
                        )
            self.people[persona.email] = actor_by_email(self.s, persona.email)

    def _sources_and_processes(self) -> None:
        with self.on(PEOPLE_JOINED_DAYS_AGO, 9):
            self._register_sources_and_processes()

    def _register_sources_and_processes(self) -> None:
        for src in SOURCES:
            self.sources[src.name] = services.create_data_source(
                self.s,
                actor=self.system,
                name=src.name,
                kind=src.kind,
                location=src.location,
                owner_team=src.owner_team,
                description=src.description,
            )
        for proc in PROCESSES:
            self.processes[proc.name] = services.create_business_process(
                self.s,
                actor=self.system,
                name=proc.name,
                business_unit=proc.unit,
                description=proc.description,
                kpi=proc.kpi,
                kpi_unit=proc.kpi_unit,
            )

    # --- one model ---

    def _model(self, index: int, plan: ModelPlan) -> None:
        technical = self.people[plan.technical_owner]
        process = next(p for p in PROCESSES if p.name == plan.process)
        registered_days_ago = max(plan.versions[0].created + 30, 600)
        with self.on(registered_days_ago, 9):
            model_id = self._register_model(plan, technical, process.kpi)
        self.models[plan.name] = model_id
        with self.on(registered_days_ago - 2, 9):
            self._owners(model_id, plan)
        trained: dict[int, TrainedVersion] = {}
        self.versions[plan.name] = {}
        for number, version in enumerate(plan.versions, start=1):
            trained[number] = self._version(index, plan, model_id, number, version)
        self._stages(plan)
        self._deployments(plan)
        self._rules(model_id, plan)
        self._traffic(index, plan, trained)
        if plan.retired_days:
            with self.on(plan.retired_days, 14):
                services.update_model(
                    self.s,
                    actor=self.people[plan.business_owner],
                    model_id=model_id,
                    status="retired",
                    reason=f"Retired: {plan.caveats}",
                )

    def _register_model(self, plan: ModelPlan, technical: Actor, kpi: str) -> int:
        return services.register_model(
            self.s,
            actor=technical,
            name=plan.name,
            business_unit=plan.unit,
            task=plan.task,
            business_process_id=self.processes[plan.process],
            status="production" if plan.retired_days else plan.status,
            metric_thresholds=plan.thresholds,
            purpose=plan.purpose,
            intended_use=plan.intended_use,
            out_of_scope_uses=plan.out_of_scope_uses,
            kpi=kpi,
            methodology=plan.methodology,
            target=plan.target,
            primary_metric=plan.primary_metric,
        )

    def _owners(self, model_id: int, plan: ModelPlan) -> None:
        roles = [("business_owner", plan.business_owner), ("technical_owner", plan.technical_owner)]
        roles += [("validator", email) for email in plan.validators] + [
            ("backup", email) for email in plan.backups
        ]
        for role, email in roles:
            services.assign_owner(
                self.s, actor=self.system, model_id=model_id, person_id=self.people[email].id, role=role
            )

    def _version(
        self, index: int, plan: ModelPlan, model_id: int, number: int, version: VersionPlan
    ) -> TrainedVersion:
        world = WORLDS[plan.world]
        owner = self.people[plan.technical_owner]
        result = train_version(
            world, plan, version, today=self.today, rng=_rng(self.seed, index, number, _TRAINING)
        )
        files = write_files(result, self.scratch / plan.name.replace(" ", "_") / f"v{number}")
        uri, sha = artifacts.store_artifact(files["model"], model_name=plan.name, version=number)
        training_id = self._dataset(
            plan,
            number,
            "training",
            files["training"],
            result.train,
            result.train_dates,
            owner,
            features={f: schema_of(result.train[[f]])[f] for f in result.features},
        )
        evaluation_id = self._dataset(
            plan, number, "evaluation", files["evaluation"], result.evaluation, result.eval_dates, owner
        )
        commit = _rng(self.seed, index, number, _COMMITS).bytes(20).hex()
        card = {k: ("" if k in version.blank_card else v) for k, v in _model_card(plan, result).items()}
        with self.on(version.created, 10, 30):
            version_id = self._register_version(
                model_id, owner, result, commit, uri, sha, training_id, evaluation_id, version, card
            )
        self.versions[plan.name][number] = version_id
        return result

    def _register_version(
        self,
        model_id: int,
        owner: Actor,
        result: TrainedVersion,
        commit: str,
        uri: str,
        sha: str,
        training_id: int,
        evaluation_id: int,
        version: VersionPlan,
        card: dict[str, Any],
    ) -> int:
        version_id = services.register_version(
            self.s,
            actor=owner,
            model_id=model_id,
            metrics=result.metrics,
            params=result.params,
            feature_names=result.features,
            git_commit=commit,
            artifact_uri=uri,
            artifact_sha256=sha,
            artifact_format="skops",
            training_dataset_id=training_id,
            evaluation_dataset_id=evaluation_id,
            description=version.note,
            **card,
        )
        feature_ids = self.s.exec(
            select(col(Feature.id)).where(col(Feature.dataset_id) == training_id).order_by(col(Feature.id))
        ).all()
        services.link_features_to_version(
            self.s, actor=owner, version_id=version_id, feature_ids=[int(f or 0) for f in feature_ids]
        )
        return version_id

    def _dataset(
        self,
        plan: ModelPlan,
        number: int,
        kind: str,
        path: Path,
        frame: Any,
        dates: tuple[date, date],
        owner: Actor,
        features: dict[str, str] | None = None,
    ) -> int:
        uri, sha = artifacts.store_artifact(path, model_name=plan.name, version=number)
        name = f"{plan.name.lower().replace(' ', '_')}_{kind}"
        snapshot = dates[1] + timedelta(days=1)  # the data was extracted the morning after its last day
        with clock.frozen(datetime.combine(snapshot, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)):
            return self._register_dataset(plan, name, uri, sha, frame, dates, owner, features)

    def _register_dataset(
        self,
        plan: ModelPlan,
        name: str,
        uri: str,
        sha: str,
        frame: Any,
        dates: tuple[date, date],
        owner: Actor,
        features: dict[str, str] | None,
    ) -> int:
        dataset_id = services.create_dataset(
            self.s,
            actor=owner,
            name=name,
            version=dates[1].isoformat(),
            data_source_id=self.sources[plan.sources[0]],
            content_hash=sha,
            row_count=len(frame),
            date_from=dates[0],
            date_to=dates[1],
            data_schema=schema_of(frame),
            uri=uri,
            features=features,
        )
        for source in plan.sources[1:]:
            services.add_lineage_edge(
                self.s,
                actor=owner,
                src_type="data_source",
                src_id=self.sources[source],
                dst_type="dataset",
                dst_id=dataset_id,
                relation="extracts",
            )
        return dataset_id

    def _stages(self, plan: ModelPlan) -> None:
        validator = self.people[plan.validators[0]].name if plan.validators else "the model owner"
        for event in stage_events(plan):
            version = plan.versions[event.version - 1]
            if event.stage == "staging":
                reason = f"Candidate for production; independent validation by {validator} started."
            elif event.stage == "production":
                reason = f"Approved by {validator} after independent validation."
            elif plan.retired_days and event.days_ago == plan.retired_days:
                reason = f"Model retired: {plan.caveats}"
            else:
                reason = f"Withdrawn: {version.note}"
            with self.on(event.days_ago, 14) as moment:
                services.apply_stage_change(
                    self.s,
                    actor=self.system,
                    version_id=self.versions[plan.name][event.version],
                    to_stage=event.stage,
                    reason=reason,
                    at=moment,
                )

    def _deployments(self, plan: ModelPlan) -> None:
        process_id = self.processes[plan.process]
        for interval in production_intervals(plan):
            with self.on(interval.start, 14, 5) as since:
                deployment_id = services.create_deployment(
                    self.s,
                    actor=self.system,
                    version_id=self.versions[plan.name][interval.version],
                    environment="production",
                    endpoint=_endpoint(plan.endpoint, interval.version),
                    business_process_id=process_id,
                    since=since,
                )
            if interval.end:
                with self.on(interval.end, 14, 5) as until:
                    services.end_deployment(
                        self.s, actor=self.system, deployment_id=deployment_id, until=until
                    )
        for number, stage in final_stages(plan).items():
            if stage == "staging":
                staged = max(d for d, s in plan.versions[number - 1].events if s == "staging")
                with self.on(staged, 14, 5) as since:
                    services.create_deployment(
                        self.s,
                        actor=self.system,
                        version_id=self.versions[plan.name][number],
                        environment="staging",
                        endpoint=_endpoint(plan.endpoint, number, staging=True),
                        business_process_id=process_id,
                        since=since,
                    )

    def _rules(self, model_id: int, plan: ModelPlan) -> None:
        """Each rule version as it happened: the business owner proposed it, a validator approved it."""
        owner = self.people[plan.business_owner]
        approver = self.people[plan.validators[0] if plan.validators else RULE_APPROVER]
        intervals = production_intervals(plan)
        for rule in plan.rules:
            for days_ago, threshold in rule.history:
                live = next((i.version for i in intervals if i.start >= days_ago > i.end), None)
                with self.on(days_ago + 9, 10) as proposed:
                    rule_id = rules.propose_rule(
                        self.s,
                        actor=owner,
                        model_id=model_id,
                        name=rule.name,
                        operator=rule.operator,
                        threshold=threshold,
                        outcome=rule.outcome,
                        description=rule.description,
                        model_version_id=self.versions[plan.name][live] if live else None,
                        effective_from=self.at(days_ago, 8),
                        at=proposed,
                    )
                with self.on(days_ago + 3, 15) as decided:
                    rules.decide_rule(
                        self.s,
                        actor=approver,
                        rule_id=rule_id,
                        approve=True,
                        comment="Consistent with the credit and pricing policy in force.",
                        at=decided,
                    )

    def _traffic(self, index: int, plan: ModelPlan, trained: dict[int, TrainedVersion]) -> None:
        world = WORLDS[plan.world]
        labeller = self.people[plan.labeller] if plan.labeller else self.system
        rng = _rng(self.seed, index, _TRAFFIC)
        for interval in production_intervals(plan):
            result = trained[interval.version]
            version_id = self.versions[plan.name][interval.version]
            batch = traffic(
                world,
                plan,
                result.pipeline,
                result.features,
                interval,
                today=self.today,
                per_day=self.per_day,
                rng=rng,
                request_prefix=f"m{index + 1:02d}v{interval.version}",
            )
            if batch is None:
                continue
            # Loaded by the nightly batch the morning after the interval's last day. The version's
            # rollup rows are new: no need to flush before each day's lookup.
            with self.on(interval.end, 6), self.s.no_autoflush:
                ingest.log_predictions(
                    self.s, actor=self.system, model_version_id=version_id, frame=batch.frame
                )
            self._attribute_labels(version_id, batch.labelled_at, labeller)

    def _attribute_labels(self, version_id: int, labelled_at: dict[str, datetime], labeller: Actor) -> None:
        """Record who labelled each sampled prediction and when the label arrived (the ingest API takes labels only)."""
        rows = self.s.exec(
            select(col(PredictionLog.id), col(PredictionLog.request_id)).where(
                col(PredictionLog.model_version_id) == version_id, col(PredictionLog.label).is_not(None)
            )
        ).all()
        updates = [
            {"id": row_id, "labelled_at": labelled_at[rid], "labelled_by_id": labeller.id}
            for row_id, rid in rows
        ]
        if updates:
            self.s.execute(update(PredictionLog), updates)
        self.labels.append({"version_id": version_id, "labelled": len(updates), "by": labeller.email})

    # --- after the models ---

    def _costs(self) -> None:
        frames = [
            cost_records(plan, today=self.today, rng=_rng(self.seed, index, _COSTS))
            for index, plan in enumerate(MODELS)
        ]
        with self.on(0, 6, 30):  # the cloud bills up to yesterday, loaded this morning
            ingest.log_costs(self.s, actor=self.system, frame=pd.concat(frames, ignore_index=True))

    def _leaver(self) -> None:
        with self.on(LEAVER_LEFT_DAYS_AGO, 17):
            services.set_person_active(
                self.s,
                actor=self.system,
                person_id=self.people[LEAVER].id,
                active=False,
                left_on=self.today - timedelta(days=LEAVER_LEFT_DAYS_AGO),
            )

    def _date_history(self) -> None:
        """Audit what the services could not date: who labelled each labelled prediction and when
        the label arrived, written straight into the prediction log (``_attribute_labels``)."""
        with self.on(0, 7):
            audit.record(
                self.s,
                actor=self.system,
                action=events.DEMO_HISTORY_DATED,
                object_id="demo",
                after={
                    "today": self.today.isoformat(),
                    "seed": self.seed,
                    "models": len(MODELS),
                    "labels_attributed": sum(x["labelled"] for x in self.labels),
                },
                reason="Demo portfolio: label arrival times and labellers set to the portfolio's history.",
            )

    def context(self) -> dict[str, Any]:
        stages = {plan.name: final_stages(plan) for plan in MODELS}
        return {
            "seed": self.seed,
            "today": self.today,
            "predictions_per_day": self.per_day,
            "system": self.system,
            "people": dict(self.people),
            "models": dict(self.models),
            "versions": {name: dict(v) for name, v in self.versions.items()},
            "stages": stages,
            "production_versions": {
                name: self.versions[name][n]
                for name, st in stages.items()
                for n, s in st.items()
                if s == "production"
            },
            "data_sources": dict(self.sources),
            "processes": dict(self.processes),
            "at": self.at,
            "on": self.on,
            "rng": lambda key: np.random.default_rng([self.seed, zlib.crc32(key.encode())]),
        }


def _endpoint(base: str, number: int, *, staging: bool = False) -> str:
    if staging:
        base = base.replace("https://ml.", "https://ml-staging.").replace(
            "batch://airflow/", "batch://airflow-staging/"
        )
    return f"{base}/v{number}" if base.startswith("https://") else f"{base}?version={number}"


def _model_card(plan: ModelPlan, result: TrainedVersion) -> dict[str, str]:
    world = WORLDS[plan.world]
    labels = result.train["label"]
    if plan.task == "binary_classification":
        label_text = f"{labels.mean():.1%} positive"
        scores = (
            f"ROC AUC {result.metrics['roc_auc']:.3f}, accuracy {result.metrics['accuracy']:.3f}, "
            f"precision {result.metrics['precision']:.3f}, recall {result.metrics['recall']:.3f} at a 0.5 cut-off, "
            f"Brier score {result.metrics['brier_score']:.3f}"
        )
    else:
        label_text = f"mean {labels.mean():,.2f}"
        scores = f"MAE {result.metrics['mae']:,.3f}, RMSE {result.metrics['rmse']:,.3f}, R² {result.metrics['r2']:.3f}"
    return {
        "card_training_data": (
            f"{len(result.train):,} {world.entity} from {', '.join(plan.sources)}, dated {result.train_dates[0]} to "
            f"{result.train_dates[1]}. Label: {world.label} ({label_text}). Inputs: {', '.join(result.features)}."
        ),
        "card_evaluation": (
            f"Out-of-time hold-out of {len(result.evaluation):,} rows dated {result.eval_dates[0]} to "
            f"{result.eval_dates[1]}: {scores}."
        ),
        "card_limitations": plan.limitations,
        "card_ethical_considerations": plan.ethics,
        "card_caveats": plan.caveats,
    }
