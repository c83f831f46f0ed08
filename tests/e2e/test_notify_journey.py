"""Journey 5: monitoring that acts, in a real browser on the real app, with a real SMTP server.

Production traffic of "SME default probability" shifts; the nightly jobs (`steward log-predictions`,
`steward drift`, `steward health`) open a drift alert; the delivery worker (`steward notify deliver`,
cron's job) e-mails the model's owners through an SMTP server on 127.0.0.1; the business owner follows
the link in her e-mail, which opens the model page on that alert, and opens a retraining request from
it; the training pipeline registers a new version with `--answers N`; she requests its promotion and an
approver approves it in his own browser; the request is then closed, with its loop time. Screenshots:
tests/e2e/screenshots/journey5_<step>.png.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session
from core.db.models import Model, ModelVersion, RetrainingRequest
from core.logstore import reads
from tests.cli_auth import insert_token
from tests.e2e.app_driver import check, choose, rerun, settle, shot, wait_for_app
from tests.notify_servers import PASSWORD, USER, Mailbox, smtp_server

pytestmark = pytest.mark.e2e

MODEL = "SME default probability"
ANNA = "anna.dekker@demo.steward"  # business owner
TOM = "tom.jansen@demo.steward"  # technical owner: his pipeline registers the retrained version
PRIYA = "priya.shah@demo.steward"  # approver
MARCO = "marco.rossi@demo.steward"  # approver
CACHE_TTL_S = 60  # app/cache.py TTL_SECONDS
STEWARD = str(Path(sys.executable).with_name("steward"))


def _steward(env: dict[str, str], *args: str) -> dict | list | str:
    done = subprocess.run([STEWARD, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"steward {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if "--json" in args else done.stdout


def _shifted_traffic(url: str, path: Path, log_store: str) -> str:
    """A day of the model's production traffic whose applicants are suddenly much larger firms:
    the inputs of the last logged predictions, scaled. Returns the day (YYYY-MM-DD)."""
    engine = make_engine(url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STEWARD_LOG_STORE", log_store)
        reset_settings_cache()
        with read_session(engine) as s:
            model = s.exec(select(Model).where(Model.name == MODEL)).one()
            version = s.exec(
                select(ModelVersion).where(
                    ModelVersion.model_id == model.id, ModelVersion.stage == "production"
                )
            ).one()
            last = reads.rows(s, version.id, columns=None, newest_first=True, limit=300)
    reset_settings_cache()
    engine.dispose()
    day = (datetime.now(UTC) - timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
    frame = last[[c for c in last.columns if c not in reads.BASE_COLUMNS]].copy()
    for column in ("annual_revenue_k", "employees", "years_in_business"):
        frame[column] = frame[column] * 6 + 40
    frame["leverage"] = frame["leverage"] * 3
    frame["ts"] = [(day + timedelta(minutes=3 * i)).isoformat() for i in range(len(frame))]
    frame["prediction"] = last["prediction"].to_numpy()
    frame["score"] = last["score"].to_numpy()
    frame["request_id"] = [f"sme-shift-{i:04d}" for i in range(len(frame))]
    frame.to_csv(path, index=False)
    return f"{day:%Y-%m-%d}"


def _reload_until_offered(page, url: str, version: re.Pattern[str]):  # type: ignore[no-untyped-def]
    """Open ``url`` until its "Request promotion" form offers ``version``. Registered by another
    process (the CLI), it shows once the app's cached reads expire (at most a minute); poll for it."""
    deadline = time.monotonic() + 3 * CACHE_TTL_S
    while True:
        page.goto(url)
        wait_for_app(page)
        form = page.get_by_test_id("stForm").filter(has_text="Request promotion")
        combobox = form.get_by_role("combobox", name="Version")
        combobox.click()
        combobox.press("ArrowDown")
        if page.get_by_role("option", name=version).count():
            page.keyboard.press("Escape")
            return form
        assert time.monotonic() < deadline, f"{version.pattern} was never offered for promotion"
        page.wait_for_timeout(5_000)  # the poll interval while the app's cache is still fresh


def test_a_drift_alert_mail_leads_to_a_retraining_that_closes_in_production(fresh_app, new_page, tmp_path):
    registry = fresh_app.registry
    with smtp_server(tmp_path) as box:
        env = {
            **registry.env,
            "STEWARD_BASE_URL": fresh_app.url,
            "STEWARD_SMTP_HOST": box.host,
            "STEWARD_SMTP_PORT": str(box.port),
            "STEWARD_SMTP_SECURITY": "starttls",
            "STEWARD_SMTP_USERNAME": USER,
            "STEWARD_SMTP_PASSWORD": PASSWORD,
            "STEWARD_SMTP_CA_FILE": str(box.ca_file),
            "STEWARD_SMTP_FROM": "steward@bank.example",
        }
        # The nightly jobs act as the system service account, with its token.
        engine = make_engine(registry.url)
        try:
            env["STEWARD_TOKEN"] = insert_token(engine, "system@steward.local")
        finally:
            engine.dispose()
        # 1. The nightly jobs: traffic is logged, drift is computed, health opens the alert.
        day = _shifted_traffic(registry.url, tmp_path / "traffic.csv", registry.env["STEWARD_LOG_STORE"])
        _steward(env, "log-predictions", "--model", MODEL, "--version", "2", str(tmp_path / "traffic.csv"))
        runs = _steward(env, "drift", "--model", MODEL, "--from", day, "--to", day, "--json")
        assert runs["runs"][0]["drift_share"] >= 0.3, runs  # past the model's limit
        _steward(env, "health")
        delivered = _steward(env, "notify", "deliver", "--json")
        assert delivered["failed_attempts"] == 0 and delivered["sent"] > 0, delivered

        # 2. The e-mail reaches the business owner, with a link to the model page on that alert.
        drift_mails = [
            m for m in box.to(ANNA) if m["Subject"] == f"[Steward] URGENT: Alert on {MODEL}: data drift"
        ]
        assert len(drift_mails) == 1, [m["Subject"] for m in box.to(ANNA)]
        text = Mailbox.text(drift_mails[0])
        assert "You receive this as business owner of the model" in text
        link = re.search(r"Open the model: (\S+)", text).group(1)
        assert link.startswith(f"{fresh_app.url}/model?model=")
        alert_id = int(parse_qs(urlsplit(link).query)["alert"][0])
        (tmp_path / "mail.txt").write_text(text)

        # 3. She follows the link (signed in as herself) and opens a retraining request from the alert.
        owner = new_page()
        owner.goto(f"{link}&as={ANNA}")
        wait_for_app(owner)
        expect(owner.get_by_role("heading", name=MODEL)).to_be_visible()
        expect(owner.get_by_role("heading", name="Retraining")).to_be_visible()
        alert_choice = owner.get_by_role("combobox", name="Alert")
        expect(alert_choice).to_have_value(re.compile(rf"^#{alert_id} drift alert"))
        check(owner, "journey5_1_link_opens_the_alert")
        reason = "Applicants are suddenly much larger firms; retrain on the last two quarters."
        owner.get_by_role("textbox", name="Why does the model need retraining?").fill(reason)
        rerun(owner, owner.get_by_role("button", name="Open retraining request").click)
        expect(owner.get_by_text("Retraining request opened; its owner is told.")).to_be_visible()
        settle(owner)
        expect(owner.get_by_text(reason)).to_be_visible()
        check(owner, "journey5_2_request_opened")
        engine = make_engine(registry.url)
        with read_session(engine) as s:
            request = s.exec(
                select(RetrainingRequest)
                .where(RetrainingRequest.status == "open")
                .order_by(col(RetrainingRequest.id).desc())
            ).first()
        assert request.source_ref == f"alert:{alert_id}"
        _steward(env, "notify", "deliver")
        assert any(m["Subject"] == f"[Steward] Retraining requested for {MODEL}" for m in box.to(TOM))

        # 4. The technical owner's pipeline registers the retrained version, answering the request.
        with read_session(engine) as s:
            production = s.exec(
                select(ModelVersion)
                .join(Model)
                .where(Model.name == MODEL, ModelVersion.stage == "production")
            ).one()
            features, metrics = list(production.feature_names), dict(production.metrics)
        artifact = tmp_path / "model.joblib"
        shutil.copyfile(registry.artifact_dir / production.artifact_uri, artifact)
        metrics["roc_auc"] = round(metrics["roc_auc"] + 0.004, 4)
        # The ML engineer's pipeline runs with his own token (a token only ever acts as its person).
        engine = make_engine(registry.url)
        try:
            tom_env = {**env, "STEWARD_TOKEN": insert_token(engine, TOM)}
        finally:
            engine.dispose()
        registered = _steward(
            tom_env,
            "register-version",
            "--model",
            MODEL,
            "--answers",
            str(request.id),
            "--artifact",
            str(artifact),
            "--metrics",
            json.dumps(metrics),
            "--features",
            ",".join(features),
            "--dataset",
            "sme_default_probability_training:2025-10-13",
            "--eval-dataset",
            "sme_default_probability_evaluation:2026-01-19",
            "--card-training-data",
            "Applications up to last quarter, larger firms included",
            "--card-evaluation",
            "Out-of-time holdout of the last quarter",
            "--card-limitations",
            "Not validated for firms above 500 employees",
            "--card-ethical-considerations",
            "No protected attributes among the inputs",
            "--card-caveats",
            "Re-check drift monthly",
            "--as",
            TOM,
            "--json",
        )
        candidate = registered["version"]

        # 5. She requests the promotion; an approver, in his own browser, approves it.
        model_url = f"{fresh_app.url}/model?model={production.model_id}&as={ANNA}"
        form = _reload_until_offered(owner, model_url, re.compile(rf"^v{candidate} "))
        expect(owner.get_by_text("Answered (new version waiting for production)")).to_be_visible()
        check(owner, "journey5_3_answered")
        choose(
            owner, form.get_by_role("combobox", name="Version"), re.compile(rf"^v{candidate} "), in_form=True
        )
        form.get_by_role("textbox", name="Justification").fill(
            f"v{candidate} answers retraining request #{request.id}."
        )
        rerun(owner, form.get_by_role("button", name="Request promotion").click)
        heading = owner.get_by_role(
            "heading", name=re.compile(rf"^Request #\d+: {MODEL} v{candidate} → Production")
        )
        expect(heading).to_be_visible()
        settle(owner)
        promotion_id = re.search(r"#(\d+)", heading.inner_text()).group(1)

        # A high-risk model: two approvers, each in their own browser, each writing the override (the
        # drift gate fails by design: the version was retrained for exactly these new inputs).
        for n, (person, message) in enumerate(
            [
                (PRIYA, "Approval recorded; a second, different approver must approve too."),
                (MARCO, f"Approved: {MODEL} v{candidate} is now in production."),
            ],
            start=4,
        ):
            approver = new_page()
            approver.goto(f"{fresh_app.url}/promotions?request={promotion_id}&as={person}")
            wait_for_app(approver)
            approve = approver.get_by_test_id("stForm").filter(
                has=approver.get_by_role("button", name=re.compile("approve$", re.IGNORECASE))
            )
            approve.get_by_role("textbox", name="Override reason (required)").fill(
                "Drift gate fails by design: the new inputs are what this version was retrained on."
            )
            expect(approver.get_by_text(re.compile(r"^Gates failing: Data drift"))).to_be_visible()
            shot(approver, f"journey5_{n}_approval_{n - 3}")  # the red gate notice is expected here
            rerun(approver, approve.get_by_role("button", name=re.compile("approve$", re.IGNORECASE)).click)
            expect(approver.get_by_text(message)).to_be_visible()
            settle(approver)

        # 6. The request closed with the promotion; the model and owners pages show it, and its owner is told.
        with read_session(engine) as s:
            closed = s.get(RetrainingRequest, request.id)
        engine.dispose()
        assert closed.status == "closed" and closed.closed_at is not None
        owner.goto(f"{fresh_app.url}/model?model={production.model_id}&as={ANNA}")
        wait_for_app(owner)
        owner.get_by_text("Earlier retraining requests (1)").click()
        expect(
            owner.get_by_text("No retraining request is open").or_(
                owner.get_by_text("Open a retraining request")
            )
        ).to_be_visible()
        check(owner, "journey5_6_closed_on_the_model_page")
        owner.goto(f"{fresh_app.url}/owners?as={ANNA}")
        wait_for_app(owner)
        expect(owner.get_by_role("heading", name="Retraining requests")).to_be_visible()
        check(owner, "journey5_7_owners_loop_time")
        _steward(env, "notify", "deliver")
        subjects = [m["Subject"] for m in box.to(TOM)]
        assert f"[Steward] Retraining of {MODEL} done: v{candidate} in production" in subjects, subjects
