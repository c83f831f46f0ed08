"""Many-users benchmark: concurrent sessions reading and writing the demo registry.

Goal (issue 7 §3): 20 people use Steward at once for 2 minutes, about one action in ten a
write, on SQLite and on PostgreSQL. Per page type the p50/p95 page time; every exception
counted, and "database is locked" counted on its own (it must never reach a user); the audit
log must grow by exactly one event per write the user saw acknowledged, and its chain must
still verify.

Method. A fresh registry per backend (an SQLite file; on PostgreSQL a new database
``steward_load_<hex>``), migrated and filled by ``core.demo.build_demo``, then one person per
session added through the registry services (a third labellers, a third approvers, a third
model owners, all also viewers). Each session is a Streamlit ``AppTest`` of app/main.py in
its own process, signed in as its person with ``?as=email`` exactly as a browser would be:
pages run server-side, with their widgets, caches and the app's one engine per process, and
nothing of the browser. Processes rather than threads, because a Streamlit server holds
the GIL for its script threads; separate processes let both cores work, each with its own
caches, engine and SQLite connections - the harshest case for the database (every write
waits for the SQLite write lock across processes, every page fills its caches per process),
while a real single server would queue the same work behind one GIL. Workers are forked
from a preloaded process (Streamlit, pandas, the app's modules), so start-up is not timed;
each session renders its first page before the clock starts.

Each session loops until the time is up: think for ``--think`` seconds (0.5x-1.5x, random),
then with probability ``--write-share`` do a write, otherwise open a page (weighted: the
inventory, a model, promotions most often; every page of the app sometimes). Writes go
through the pages' widgets:

- labeller: Labelling page, answer the case on screen (the demo's open campaigns);
- approver: Promotions page, open one of the demo's pending requests, add a comment;
- model owner: Model page, request promotion of one of the versions set aside for this
  session; the next write of that owner cancels it on the Promotions page, so requests can
  go on for the whole run (a cancel is a write too).

A write is acknowledged when the page shows its success message; "conflict" is the app's
own answer to a collision with another user (e.g. two labellers on the last label of a
case) and is no error. Page time is the wall time of one ``AppTest.run()`` (the script run a
click or a navigation causes, including any rerun it triggers); CPU seconds of the session
process are recorded too, because the machine is shared. The load average is printed.

    .venv/bin/python bench/load.py [--db sqlite|postgres|both] [--sessions 20] [--duration 120]
        [--write-share 0.1] [--think 1.0] [--per-day 40] [--pg-url URL] [--sqlite-registry DIR]
    .venv/bin/python bench/load.py --report bench/results/load-sqlite-<time>.json   # print a saved run again

Results go to bench/results/load-<backend>-<time>.json. The exit status is 1 when a page failed,
"database is locked" appeared, the audit accounting does not match or the chain does not verify.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import queue
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MAIN = ROOT / "app" / "main.py"
RESULTS = ROOT / "bench" / "results"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAGE_TIMEOUT = 120  # seconds one script run may take before AppTest gives up (an error)
READY_TIMEOUT = 600  # seconds for every session to render its first page
KINDS = ("labeller", "approver", "owner")
WRITE_ACTIONS = {  # bench write -> the audit action its service records
    "label": "label.submitted",
    "comment": "promotion.commented",
    "request": "promotion.requested",
    "cancel": "promotion.cancelled",
}
# page -> (weight, query parameter it takes)
PAGES: dict[str, tuple[float, str | None]] = {
    "inventory": (3, None),
    "model": (3, "model"),
    "promotions": (2, "request"),
    "owners": (1, None),
    "drift": (1, "model"),
    "performance": (1, "model"),
    "labelling": (1, None),
    "audit": (1, None),
    "risk": (1, "model"),
    "lineage": (1, None),
    "costs": (1, None),
    "admin": (0.5, None),
    "meetings": (0.5, None),
    "documentation": (0.5, "model"),
    "explanations": (0.5, "model"),
}
LOCKED = "database is locked"
PRELOAD = [
    "pandas",
    "plotly.graph_objects",
    "sqlalchemy",
    "sqlmodel",
    "streamlit",
    "streamlit.testing.v1",
    "core.db.models",
    "app.bootstrap",
    "app.cache",
    "app.identity",
    "app.actions",
    *[
        f"app.{folder}.{p.stem}"
        for folder in ("components", "panels")
        for p in sorted((ROOT / "app" / folder).glob("*.py"))
        if p.stem != "__init__"
    ],
]


# --- the plan: who each session is and what it may write ---------------------------------------------


@dataclass
class SessionPlan:
    index: int
    kind: str  # labeller | approver | owner
    email: str
    person_id: int
    model_ids: list[int]  # models to open on the Model page and others
    request_ids: list[int]  # existing requests to open on the Promotions page
    comment_on: list[int]  # pending requests an approver comments on
    versions: list[tuple[int, int]] = field(default_factory=list)  # (model id, version id) an owner requests


def plan_sessions(engine: Any, sessions: int) -> list[SessionPlan]:
    """Add one person per session (through the services, as the demo's admin) and share out the work."""
    from sqlmodel import select

    from core.access import actor_by_id
    from core.db.engine import read_session, write_session
    from core.db.models import Model, ModelVersion, PromotionRequest, RoleGrant
    from core.registry import services

    with read_session(engine) as s:
        admin_id = s.exec(select(RoleGrant.person_id).where(RoleGrant.role == "admin")).first()
        models = s.exec(select(Model.id, Model.status)).all()
        requests = s.exec(
            select(PromotionRequest.id, PromotionRequest.status, PromotionRequest.model_version_id)
        ).all()
        versions = s.exec(
            select(ModelVersion.id, ModelVersion.model_id, ModelVersion.stage).order_by(
                ModelVersion.model_id, ModelVersion.version
            )
        ).all()
    if admin_id is None:
        raise SystemExit("The registry has no admin to add the load-test people; build the demo first.")
    live = {m.id for m in models if m.status != "retired"}
    pending = [r.id for r in requests if r.status == "pending"]
    taken = {r.model_version_id for r in requests if r.status == "pending"}
    candidates = [
        (v.model_id, v.id)
        for v in versions
        if v.model_id in live and v.stage != "production" and v.id not in taken
    ]
    tag = uuid.uuid4().hex[:6]
    plans = []
    with write_session(engine) as s:
        admin = actor_by_id(s, admin_id)
        for i in range(sessions):
            kind = KINDS[i % len(KINDS)]
            email = f"load-{tag}-{i:02d}@example.com"
            person_id = services.create_person(
                s,
                actor=admin,
                name=f"Load {kind.capitalize()} {i:02d}",
                email=email,
                team="Load test",
                roles=[(kind if kind != "owner" else "model_owner", ""), ("viewer", "")],
            )
            plans.append(
                SessionPlan(
                    i,
                    kind,
                    email,
                    person_id,
                    model_ids=sorted(m.id for m in models),
                    request_ids=sorted(r.id for r in requests),
                    comment_on=pending,
                )
            )
    owners = [p for p in plans if p.kind == "owner"]
    for n, candidate in enumerate(candidates):
        if owners:
            owners[n % len(owners)].versions.append(candidate)
    return plans


# --- one session ----------------------------------------------------------------------------------


@dataclass
class Record:
    page: str  # page name, or "write: <action>"
    wall: float
    cpu: float
    outcome: str  # ok | error (reads); acknowledged | conflict | refused | unavailable | error (writes)
    locked: bool = False
    detail: str = ""
    at: float = 0.0  # seconds since the start
    lock_wait: float = 0.0  # SQLite: seconds waiting in BEGIN IMMEDIATE for the write lock during this run
    lock_hold: float = 0.0  # SQLite: seconds from holding the write lock to COMMIT/ROLLBACK during this run


class Session:
    """One simulated user: an AppTest of the app, signed in as the session's person."""

    def __init__(self, plan: SessionPlan, seed: int) -> None:
        from streamlit.testing.v1 import AppTest

        self.plan = plan
        self.rng = random.Random(seed * 1000 + plan.index)
        self.at = AppTest.from_file(str(MAIN), default_timeout=PAGE_TIMEOUT)
        self.records: list[Record] = []
        self.start_perf = time.perf_counter()  # reset when the clock starts
        self._pending = Record("", 0.0, 0.0, "?")
        self.comments = 0
        self.lock = _watch_write_lock()
        self.my_request: int | None = None  # an owner's pending request, cancelled by the next write
        self.next_version = 0

    # -- running the script ------------------------------------------------------------------------

    def first_page(self) -> None:
        """Sign in and render the landing page (not timed: imports and the first cache fill)."""
        self.at.query_params["as"] = self.plan.email
        self.at.run()
        problem, _ = self.problems(None)
        if problem:
            raise RuntimeError(f"session {self.plan.index}: the first page failed: {problem}")
        picked = self.widget("selectbox", "identity.person")
        if picked is None or picked.value != self.plan.email:
            raise RuntimeError(f"session {self.plan.index} is not signed in as {self.plan.email}")

    def run(
        self, label: str, act: Callable[[], Any] | None = None, *, write: bool = False
    ) -> tuple[str, bool]:
        """Time one script run (after ``act`` set widgets); return (problem or "", locked)."""
        wall, cpu = time.perf_counter(), time.process_time()
        self.lock.update(wait=0.0, hold=0.0)
        failure = None
        try:
            if act is not None:
                act()
            self.at.run()
        except Exception as exc:  # noqa: BLE001 - any failure of a page is what we count
            failure = f"{type(exc).__name__}: {exc}"
        figures = (time.perf_counter() - wall, time.process_time() - cpu)
        problem, locked = self.problems(failure)
        self._pending = Record(
            label,
            *figures,
            "error" if problem else ("?" if write else "ok"),
            locked,
            problem[:500],
            at=wall - self.start_perf,
            lock_wait=self.lock["wait"],
            lock_hold=self.lock["hold"],
        )
        if not write:
            self.records.append(self._pending)
        return problem, locked

    def problems(self, failure: str | None) -> tuple[str, bool]:
        """An exception on the page, the registry-unusable message, or a failed run; and whether it says locked."""
        texts = [failure] if failure else []
        try:
            texts += [f"{e.message}\n{''.join(e.stack_trace)}" for e in self.at.exception]
            texts += [
                e.value for e in self.at.error if "cannot use its registry" in e.value or LOCKED in e.value
            ]
        except Exception as exc:  # noqa: BLE001 - an unreadable tree is a failure too
            texts.append(f"unreadable page: {exc}")
        problem = "\n".join(texts)
        return problem, LOCKED in problem.lower()

    def texts(self) -> list[tuple[str, str]]:
        return [
            (kind, el.value)
            for kind in ("success", "warning", "error", "info")
            for el in getattr(self.at, kind)
        ]

    def visit(self, page: str, **params: Any) -> tuple[str, bool]:
        self.at.query_params.clear()
        self.at.query_params.update({"as": self.plan.email, **{k: str(v) for k, v in params.items()}})
        self.at.switch_page(f"../pages/{page}.py")
        return self.run(page + ("/request" if page == "promotions" and params else ""))

    def widget(self, kind: str, key: str) -> Any:
        return next((w for w in getattr(self.at, kind) if w.key == key), None)

    # -- what a user does ----------------------------------------------------------------------------

    def read(self) -> None:
        pages = list(PAGES)
        page = self.rng.choices(pages, weights=[PAGES[p][0] for p in pages])[0]
        param = PAGES[page][1]
        params: dict[str, Any] = {}
        if param == "model":
            params["model"] = self.rng.choice(self.plan.model_ids)
        elif param == "request" and self.plan.request_ids and self.rng.random() < 0.5:
            params["request"] = self.rng.choice(self.plan.request_ids)
        self.visit(page, **params)

    def write(self) -> None:
        action, fn = {
            "labeller": ("label", self.label),
            "approver": ("comment", self.comment),
            "owner": ("cancel" if self.my_request else "request", self.request_or_cancel),
        }[self.plan.kind]
        try:
            outcome = fn()
        except Exception:  # noqa: BLE001 - a broken bench step is reported, never hidden
            outcome = ("error", traceback.format_exc(limit=3))
        if outcome is None:  # the write ran: classify what the page said
            return
        kind, detail = outcome
        self.records.append(
            Record(
                f"write: {action}",
                0.0,
                0.0,
                kind,
                LOCKED in detail.lower(),
                detail[:500],
                at=time.perf_counter() - self.start_perf,
            )
        )

    def _finish_write(self, action: str, problem: str, success: str) -> None:
        record = self._pending
        record.page = f"write: {action}"
        texts = self.texts()
        if problem:
            record.outcome = "error"
        elif any(kind == "success" and success in text for kind, text in texts):
            record.outcome = "acknowledged"
        elif any(kind == "warning" for kind, _ in texts) or any(
            "already decided" in t or "changed while" in t or "got its" in t for _, t in texts
        ):
            record.outcome, record.detail = "conflict", " | ".join(t for _, t in texts)[:500]
        else:
            record.outcome, record.detail = "refused", " | ".join(t for _, t in texts)[:500]
        self.records.append(record)

    def label(self) -> tuple[str, str] | None:
        problem, _ = self.visit("labelling")
        if problem:
            return None  # the page visit is already counted as an error
        if not self._case_on_screen():
            box = self.widget("selectbox", "labelling.campaign")
            waiting = [
                (int(m.group(1)), int(m.group(2)))
                for o in (box.options if box else [])
                if (m := re.match(r"#(\d+) .* — (\d+) case", o))
            ]
            choices = [cid for cid, n in waiting if n > 0 and cid != (box.value if box else None)]
            if not choices:
                return ("unavailable", "no case left for this labeller")
            problem, _ = self.run("labelling", lambda: box.set_value(self.rng.choice(choices)))
            if problem or not self._case_on_screen():
                return None if problem else ("unavailable", "no case on screen after choosing a campaign")
        value = float(self.rng.random() < 0.5)
        yes_no = self.widget("button", f"labelling.answer.{int(value)}")
        if yes_no is not None:
            act = yes_no.click
        else:
            number = next(n for n in self.at.number_input if n.key and n.key.startswith("labelling.value."))

            def act() -> None:
                number.set_value(round(self.rng.uniform(100, 5000), 2))
                self.widget("button", "labelling.save_value").click()

        problem, _ = self.run("write: label", act, write=True)
        self._finish_write("label", problem, "Here is the next one")
        return None

    def _case_on_screen(self) -> bool:
        return any(
            self.widget("button", k) is not None for k in ("labelling.answer.1", "labelling.save_value")
        )

    def comment(self) -> tuple[str, str] | None:
        request_id = self.rng.choice(self.plan.comment_on) if self.plan.comment_on else None
        if request_id is None:
            return ("unavailable", "no pending request to comment on")
        problem, _ = self.visit("promotions", request=request_id)
        if problem:
            return None
        body, submit = (
            self.widget("text_area", "promotions.comment.body"),
            self.widget("button", "promotions.comment.submit"),
        )
        if body is None or submit is None:
            return ("unavailable", f"request #{request_id} offers no comment form")
        self.comments += 1
        text = f"Load test comment {self.comments} from session {self.plan.index}: is the holdout recent?"
        problem, _ = self.run("write: comment", lambda: (body.input(text), submit.click()), write=True)
        self._finish_write("comment", problem, "Comment added.")
        return None

    def request_or_cancel(self) -> tuple[str, str] | None:
        if self.my_request is not None:
            request_id, self.my_request = self.my_request, None
            problem, _ = self.visit("promotions", request=request_id)
            if problem:
                return None
            cancel = self.widget("button", "promotions.cancel.submit")
            if cancel is None:
                return ("unavailable", f"request #{request_id} offers no cancel button")
            problem, _ = self.run("write: cancel", cancel.click, write=True)
            self._finish_write("cancel", problem, "Request cancelled.")
            return None
        if not self.plan.versions:
            return ("unavailable", "no version set aside for this owner")
        model_id, version_id = self.plan.versions[self.next_version % len(self.plan.versions)]
        self.next_version += 1
        problem, _ = self.visit("model", model=model_id)
        if problem:
            return None
        version = self.widget("selectbox", "model.promote.version")
        justification = self.widget("text_area", "model.promote.justification")
        submit = self.widget("button", "model.promote.submit")
        if version is None or justification is None or submit is None:
            return ("unavailable", f"model {model_id} offers no promotion form")

        def act() -> None:
            version.set_value(version_id)
            justification.input(f"Load test: session {self.plan.index} asks for version id {version_id}.")
            submit.click()

        problem, _ = self.run("write: request", act, write=True)
        self._finish_write("request", problem, "opened; its evidence was frozen")
        if self.records[-1].outcome == "acknowledged":
            opened = next((m for _, t in self.texts() if (m := re.search(r"Request #(\d+) opened", t))), None)
            self.my_request = int(opened.group(1)) if opened else None
        return None


def _watch_write_lock() -> dict[str, Any]:
    """Time, in this process, the wait for SQLite's write lock (BEGIN IMMEDIATE) and how long it is held."""
    from sqlalchemy import Engine, event

    state: dict[str, Any] = {"wait": 0.0, "hold": 0.0, "asked": None, "got": None}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement == "BEGIN IMMEDIATE":
            state["asked"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement == "BEGIN IMMEDIATE" and state["asked"] is not None:
            state["got"] = time.perf_counter()
            state["wait"] += state["got"] - state["asked"]
            state["asked"] = None

    def failed(context: Any) -> None:
        if context.statement == "BEGIN IMMEDIATE" and state["asked"] is not None:
            state["wait"] += time.perf_counter() - state["asked"]
            state["asked"] = None

    def released(conn: Any) -> None:
        if state["got"] is not None:
            state["hold"] += time.perf_counter() - state["got"]
            state["got"] = None

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Engine, "handle_error", failed)
    event.listen(Engine, "commit", released)
    event.listen(Engine, "rollback", released)
    return state


def worker(
    plan: SessionPlan,
    env: dict[str, str],
    seed: int,
    write_share: float,
    think: float,
    duration: float,
    start: Any,
    results: Any,
) -> None:
    """A session process: render the first page, wait for the start, loop until the time is up."""
    from streamlit.logger import set_log_level

    set_log_level("error")  # one "missing ScriptRunContext" warning per process says nothing here
    # The fork server keeps the environment it started with (an earlier run's registry): set this run's.
    for key in [k for k in os.environ if k.startswith("STEWARD_")]:
        del os.environ[key]
    os.environ.update(env)
    from core.config import reset_settings_cache

    reset_settings_cache()
    try:
        session = Session(plan, seed)
        session.first_page()
    except Exception:  # noqa: BLE001
        results.put(("failed", plan.index, traceback.format_exc()))
        return
    results.put(("ready", plan.index, None))
    start.wait()
    session.start_perf = time.perf_counter()
    deadline = session.start_perf + duration
    rng = session.rng
    while True:
        time.sleep(think * rng.uniform(0.5, 1.5))
        if time.perf_counter() >= deadline:
            break
        if rng.random() < write_share:
            session.write()
        else:
            session.read()
    results.put(("done", plan.index, [asdict(r) for r in session.records]))


# --- one run --------------------------------------------------------------------------------------


@dataclass
class RunResult:
    backend: str
    sessions: int
    duration_s: float
    write_share: float
    think_s: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    records: list[dict[str, Any]]
    audit_before: dict[str, int]
    audit_after: dict[str, int]
    chain: str
    chain_ok: bool
    elapsed_s: float


def audit_counts(engine: Any) -> dict[str, int]:
    from sqlalchemy import func
    from sqlmodel import select

    from core.db.engine import read_session
    from core.db.models import AuditEvent

    with read_session(engine) as s:
        rows = s.exec(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all()
    return {action: int(n) for action, n in rows}


def run_load(
    url: str,
    *,
    backend: str,
    sessions: int = 20,
    duration: float = 120.0,
    write_share: float = 0.1,
    think: float = 1.0,
    seed: int = 7,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Run the sessions against the built registry at ``url`` and return every page time and the audit counts.

    STEWARD_ARTIFACT_DIR must already point at the demo's artifacts (the workers inherit the environment).
    """
    from core import audit
    from core.config import reset_settings_cache
    from core.db.engine import make_engine, read_session

    os.environ["STEWARD_DATABASE_URL"] = url
    os.environ["STEWARD_AUTH_MODE"] = "local"
    reset_settings_cache()
    engine = make_engine(url)
    try:
        plans = plan_sessions(engine, sessions)
    finally:
        engine.dispose()
    env = {k: v for k, v in os.environ.items() if k.startswith("STEWARD_")}
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(
            target=worker, args=(p, env, seed, write_share, think, duration, start, results), daemon=True
        )
        for p in plans
    ]
    began = time.perf_counter()
    for proc in procs:
        proc.start()
    log(f"  {sessions} session processes started; waiting for each to render its first page ...")
    ready, failed = 0, []
    while ready + len(failed) < sessions:
        kind, index, payload = results.get(timeout=READY_TIMEOUT)
        if kind == "ready":
            ready += 1
        else:
            failed.append(f"session {index}: {payload}")
    if failed:
        start.set()
        for proc in procs:
            proc.kill()
        raise RuntimeError("sessions failed to start:\n" + "\n".join(failed))
    engine = make_engine(url)
    try:
        before = audit_counts(engine)
        load_before = os.getloadavg()
        log(
            f"  all ready after {time.perf_counter() - began:.0f} s; running for {duration:.0f} s "
            f"(load average {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}) ..."
        )
        start.set()
        records: list[dict[str, Any]] = []
        done = 0
        while done < sessions:
            try:
                kind, index, payload = results.get(timeout=duration + 10 * PAGE_TIMEOUT)
            except queue.Empty:
                raise RuntimeError(f"only {done} of {sessions} sessions finished") from None
            if kind == "done":
                done += 1
                records += [{**r, "session": index} for r in payload]
        for proc in procs:
            proc.join(timeout=30)
        load_after = os.getloadavg()
        after = audit_counts(engine)
        with read_session(engine) as s:
            verdict = audit.verify(s)
    finally:
        engine.dispose()
    return RunResult(
        backend,
        sessions,
        duration,
        write_share,
        think,
        load_before,
        load_after,
        records,
        before,
        after,
        verdict.message(),
        verdict.ok,
        time.perf_counter() - began,
    )


# --- accounting and the report ---------------------------------------------------------------------


def accounting(result: RunResult) -> dict[str, Any]:
    """Acknowledged writes per action against the audit events added, per audit action."""
    outcomes = Counter((r["page"], r["outcome"]) for r in result.records if r["page"].startswith("write: "))
    rows = {}
    for action, audit_action in WRITE_ACTIONS.items():
        acknowledged = outcomes[(f"write: {action}", "acknowledged")]
        added = result.audit_after.get(audit_action, 0) - result.audit_before.get(audit_action, 0)
        rows[action] = {
            "audit_action": audit_action,
            "acknowledged": acknowledged,
            "audit_events_added": added,
        }
    total_added = sum(result.audit_after.values()) - sum(result.audit_before.values())
    acknowledged = sum(r["acknowledged"] for r in rows.values())
    return {
        "per_action": rows,
        "acknowledged_writes": acknowledged,
        "audit_events_added": total_added,
        "matches": total_added == acknowledged
        and all(r["acknowledged"] == r["audit_events_added"] for r in rows.values()),
    }


def summary(result: RunResult) -> dict[str, Any]:
    by_page: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[int, str]] = set()
    for r in sorted(result.records, key=lambda r: (r.get("session", 0), r["at"])):
        by_page.setdefault(r["page"], []).append(r)
        r["first"] = (r.get("session", 0), r["page"]) not in seen  # the session process's caches were cold
        seen.add((r.get("session", 0), r["page"]))
    pages = {}
    for page, rows in sorted(by_page.items(), key=lambda kv: (kv[0].startswith("write"), kv[0])):
        timed = [r for r in rows if r["wall"] > 0]
        walls = sorted(r["wall"] for r in timed)
        pages[page] = {
            "n": len(rows),
            "p50_s": _pct(walls, 50),
            "p95_s": _pct(walls, 95),
            "max_s": walls[-1] if walls else None,
            "cpu_p50_s": statistics.median(r["cpu"] for r in timed) if timed else None,
            "first_p50_s": _pct(sorted(r["wall"] for r in timed if r["first"]), 50),
            "repeat_p50_s": _pct(sorted(r["wall"] for r in timed if not r["first"]), 50),
            "outcomes": dict(Counter(r["outcome"] for r in rows)),
            "errors": sum(r["outcome"] == "error" for r in rows),
            "locked": sum(r["locked"] for r in rows),
            "lock_wait_s": _spread([r["lock_wait"] for r in timed]),
            "lock_hold_s": _spread([r["lock_hold"] for r in timed]),
        }
    writes = [r for r in result.records if r["page"].startswith("write: ")]
    return {
        "pages": pages,
        "actions": len(result.records),
        "writes_attempted": len(writes),
        "write_share_actual": len(writes) / max(1, len(result.records)),
        "errors": sum(r["outcome"] == "error" for r in result.records),
        "locked": sum(r["locked"] for r in result.records),
        "error_samples": [r["detail"] for r in result.records if r["outcome"] == "error"][:5],
        "refusals": [r["detail"] for r in result.records if r["outcome"] in ("refused", "unavailable")][:5],
        "accounting": accounting(result),
    }


def _spread(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    return {"p50": _pct(ordered, 50), "p95": _pct(ordered, 95), "max": ordered[-1] if ordered else None}


def _pct(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))  # nearest-rank percentile
    return sorted_values[rank - 1]


def print_report(result: RunResult, figures: dict[str, Any]) -> None:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v * 1000:,.0f}"

    lb, la = result.load_before, result.load_after
    print(
        f"\n{result.backend}: {result.sessions} sessions x {result.duration_s:.0f} s, think {result.think_s:g} s, "
        f"write share {result.write_share:.0%} (actual {figures['write_share_actual']:.1%} of "
        f"{figures['actions']} actions); load average {lb[0]:.1f}/{lb[1]:.1f}/{lb[2]:.1f} before, "
        f"{la[0]:.1f}/{la[1]:.1f}/{la[2]:.1f} after, {os.cpu_count()} CPUs"
    )
    print(
        f"  {'page':22} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'CPU p50':>9} {'1st p50':>9} "
        f"{'again p50':>9} {'errors':>7} "
        f"{'locked':>7}  outcomes"
    )
    for page, row in figures["pages"].items():
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(row["outcomes"].items()))
        print(
            f"  {page:22} {row['n']:5d} {ms(row['p50_s']):>9} {ms(row['p95_s']):>9} {ms(row['max_s']):>9} "
            f"{ms(row['cpu_p50_s']):>9} {ms(row['first_p50_s']):>9} {ms(row['repeat_p50_s']):>9} {row['errors']:7d} {row['locked']:7d}  {outcomes}"
        )
    locking = {
        p: r
        for p, r in figures["pages"].items()
        if p.startswith("write") and (r["lock_hold_s"]["max"] or 0) > 0
    }
    if locking:
        print(
            "  SQLite write lock per write (ms): waiting in BEGIN IMMEDIATE p50/p95/max, then held until COMMIT"
        )
        for page, row in locking.items():
            wait, hold = row["lock_wait_s"], row["lock_hold_s"]
            print(
                f"    {page:20} wait {ms(wait['p50'])}/{ms(wait['p95'])}/{ms(wait['max'])}   "
                f"held {ms(hold['p50'])}/{ms(hold['p95'])}/{ms(hold['max'])}"
            )
    print(
        "  (CPU: CPU time of the session's process in that run; 1st: the page's first run in that session, caches cold; "
        "again: later runs)"
    )
    print(f"  errors: {figures['errors']} (of which 'database is locked': {figures['locked']})")
    for sample in figures["error_samples"]:
        print("    - " + sample.strip().splitlines()[0][:200])
    acc = figures["accounting"]
    print("  audit accounting (acknowledged writes vs audit events added):")
    for action, row in acc["per_action"].items():
        print(
            f"    {action:8} {row['audit_action']:22} acknowledged {row['acknowledged']:4d}   "
            f"audit events added {row['audit_events_added']:4d}"
        )
    verdict = "MATCH" if acc["matches"] else "MISMATCH"
    print(
        f"    total    acknowledged {acc['acknowledged_writes']} = audit delta {acc['audit_events_added']}: {verdict}"
    )
    print(f"  {result.chain}")


def write_json(result: RunResult, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"load-{result.backend}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    data = {k: v for k, v in asdict(result).items() if k != "records"}
    path.write_text(
        json.dumps({**data, "summary": figures, "records": result.records}, indent=1, default=str)
    )
    return path


# --- registries -----------------------------------------------------------------------------------


@contextmanager
def demo_registry(backend: str, *, per_day: int, pg_url: str, copy_of: Path | None = None) -> Iterator[str]:
    """A fresh, migrated registry holding the demo; removed afterwards. Sets STEWARD_ARTIFACT_DIR.

    ``copy_of`` (SQLite only): a directory with a built demo (steward.db, artifacts/) to copy
    instead of building one (e.g. the registry `make run` built, or bench/pages.py's)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from core.config import reset_settings_cache
    from core.db.engine import make_engine
    from core.db.migrate import upgrade
    from core.demo import build_demo

    directory = Path(tempfile.mkdtemp(prefix=f"steward-load-{backend}-"))
    os.environ["STEWARD_ARTIFACT_DIR"] = str(directory / "artifacts")
    os.environ["STEWARD_REPORT_DIR"] = str(directory / "reports")
    reset_settings_cache()
    name, admin = None, None
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'steward.db'}"
    else:
        name = f"steward_load_{uuid.uuid4().hex[:8]}"
        admin = create_engine(make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        if copy_of is not None and backend == "sqlite":
            shutil.copyfile(copy_of / "steward.db", directory / "steward.db")
            for folder in ("artifacts", "logs"):  # logs: the log store beside the artifacts
                if (copy_of / folder).is_dir():
                    shutil.copytree(copy_of / folder, directory / folder)
            print(f"  demo copied from {copy_of}")
            yield url
            return
        engine = make_engine(url)
        try:
            began = time.perf_counter()
            upgrade(engine)
            built = build_demo(engine, predictions_per_day=per_day)
            print(
                f"  demo built in {time.perf_counter() - began:.0f} s: {built['models']} models, "
                f"{built['prediction_logs']:,} logged predictions, {built['audit_events']} audit events"
            )
        finally:
            engine.dispose()
        yield url
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions (one process each)")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--write-share", type=float, default=0.1, help="share of actions that write")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between actions, seconds")
    parser.add_argument(
        "--per-day", type=int, default=40, help="demo predictions per day and production version"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("STEWARD_TEST_POSTGRES_URL", DEFAULT_PG_URL),
        help="PostgreSQL server to create the throw-away database on",
    )
    parser.add_argument("--report", type=Path, help="print the figures of a saved result JSON and stop")
    parser.add_argument(
        "--sqlite-registry",
        type=Path,
        help="SQLite: copy this built demo (steward.db, artifacts/) instead of building",
    )
    args = parser.parse_args()
    if args.report:
        saved = json.loads(args.report.read_text())
        fields = {k: saved[k] for k in RunResult.__dataclass_fields__ if k != "records"}
        result = RunResult(**fields, records=saved["records"])
        print_report(result, summary(result))
        return
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    failed = False
    for backend in backends:
        print(f"\n== {backend} ==")
        with demo_registry(
            backend, per_day=args.per_day, pg_url=args.pg_url, copy_of=args.sqlite_registry
        ) as url:
            result = run_load(
                url,
                backend=backend,
                sessions=args.sessions,
                duration=args.duration,
                write_share=args.write_share,
                think=args.think,
                seed=args.seed,
            )
        figures = summary(result)
        print_report(result, figures)
        print(f"  results: {write_json(result, figures)}")
        failed |= bool(
            figures["errors"]
            or figures["locked"]
            or not figures["accounting"]["matches"]
            or not result.chain_ok
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
