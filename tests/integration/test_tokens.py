"""Every non-browser caller is authenticated (issue 11, finding 2), on SQLite and PostgreSQL.

Before: `steward approve 2 --as <another approver>` approved as whoever was named, and with no
`--as` the system account (an admin) could create an approver and approve as them. Now a CLI
call acts only as the person whose personal access token it holds; `--as` is only a check;
nobody can mint a token for another human; service accounts never decide.
"""

from __future__ import annotations

import hashlib
import stat
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, update
from sqlmodel import select
from typer.testing import CliRunner

from core import audit
from core.access import actor_by_email, require
from core.cli import app
from core.clock import now as utcnow
from core.config import reset_settings_cache
from core.db.engine import read_session, write_session
from core.db.models import ApiToken, AuditEvent, PromotionRequest
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.governance import promotions
from core.identity import (
    authenticate,
    bootstrap_token,
    create_service_account,
    create_token,
    list_tokens,
    revoke_token,
)
from core.registry import services
from tests.cli_auth import insert_token
from tests.factories import World, make_promotable_model, make_world

plain = CliRunner()  # no help: each test says which token it holds


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("STEWARD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("STEWARD_TOKEN", raising=False)
    monkeypatch.delenv("STEWARD_TOKEN_FILE", raising=False)
    reset_settings_cache()
    return engine


def _events(engine: Engine) -> int:
    with read_session(engine) as s:
        return int(s.exec(select(func.count()).select_from(AuditEvent)).one())


def _pending_request(engine: Engine, world: World) -> int:
    make_promotable_model(engine, world)
    with write_session(engine) as s:
        return promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=1,
            target_stage="production",
            justification="First release of churn.",
        )


def _status(engine: Engine, request_id: int) -> str:
    with read_session(engine) as s:
        return s.get(PromotionRequest, request_id).status


def test_as_no_longer_impersonates_and_no_token_acts_as_nobody(cli):
    world = make_world(cli)
    request_id = _pending_request(cli, world)
    before = _events(cli)
    # The requester's own token, claiming to be an approver: refused, nothing written.
    own = plain.invoke(
        app,
        ["approve", str(request_id), "--as", world.approver.email],
        env={"STEWARD_TOKEN": insert_token(cli, world.owner.email)},
    )
    assert own.exit_code == 1
    assert "does not match the token, which acts as Olivia Owner" in own.stderr
    # No token at all (the old default acted as the system account): refused.
    anonymous = plain.invoke(app, ["approve", str(request_id), "--as", world.approver.email])
    assert anonymous.exit_code == 1 and "needs a personal access token" in anonymous.stderr
    assert _status(cli, request_id) == "pending" and _events(cli) == before
    # The approver's own token approves, and the event names the approver and the token.
    token = insert_token(cli, world.approver.email)
    done = plain.invoke(app, ["approve", str(request_id), "-c", "ok"], env={"STEWARD_TOKEN": token})
    assert done.exit_code == 0, done.output
    with read_session(cli) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "promotion.approved")).one()
        token_row = s.exec(
            select(ApiToken).where(ApiToken.token_hash == hashlib.sha256(token.encode()).hexdigest())
        ).one()
        assert audit.verify(s).ok
    assert (event.actor_email, event.token_id) == (world.approver.email, token_row.id)
    assert token_row.last_used_at is not None


def test_the_system_account_cannot_launder_an_approval(cli):
    """The attack of the issue: the system account (an admin) creates an approver and approves as them."""
    world = make_world(cli)
    request_id = _pending_request(cli, world)
    system = {"STEWARD_TOKEN": insert_token(cli, world.system.email)}
    created = plain.invoke(
        app,
        ["add-person", "--name", "Sam Straw", "--email", "straw@example.com", "--role", "approver"],
        env=system,
    )
    assert created.exit_code == 0, created.output  # an admin may add people...
    approve = plain.invoke(app, ["approve", str(request_id), "--as", "straw@example.com"], env=system)
    assert approve.exit_code == 1 and "does not match the token" in approve.stderr  # ...not act as them
    with write_session(cli) as s:
        straw = actor_by_email(s, "straw@example.com")
        with pytest.raises(PermissionDenied, match="Nobody can create a token that acts as Sam Straw"):
            create_token(s, actor=world.system, person_id=straw.id, name="straw")
        with pytest.raises(PermissionDenied, match="Nobody can create a token that acts as Arthur Approver"):
            create_token(s, actor=world.admin, person_id=world.approver.id, name="borrowed")
    # Even holding the approver role, a service account never decides.
    with write_session(cli) as s:
        services.grant_role(s, actor=world.admin, person_id=world.system.id, role="approver")
    refused = plain.invoke(app, ["approve", str(request_id), "-c", "ok"], env=system)
    assert refused.exit_code == 1
    assert "is a service account: only a person may promotion decide" in refused.stderr
    assert _status(cli, request_id) == "pending"


@pytest.mark.parametrize(
    ("action", "call"),
    [
        (
            "reject",
            lambda s, a, rid: promotions.reject(s, actor=a, request_id=rid, comment="Not good enough."),
        ),
        ("approve", lambda s, a, rid: promotions.approve(s, actor=a, request_id=rid)),
    ],
)
def test_service_accounts_register_and_request_but_never_decide(engine, action, call):
    world = make_world(engine)
    with write_session(engine) as s:
        bot_id = create_service_account(
            s,
            actor=world.admin,
            name="Nightly pipeline",
            email="pipeline@example.com",
            roles=[("model_owner", ""), ("approver", ""), ("labeller", "")],
        )
        bot = actor_by_email(s, "pipeline@example.com")
    assert bot.id == bot_id
    make_promotable_model(engine, world, creator=bot)
    with write_session(engine) as s:  # requesting is allowed
        request_id = promotions.request_promotion(
            s, actor=bot, version_id=1, target_stage="production", justification="Scheduled retraining run."
        )
    with pytest.raises(PermissionDenied, match="Nightly pipeline .* is a service account"):
        with write_session(engine) as s:
            call(s, bot, request_id)
    with pytest.raises(PermissionDenied, match="is a service account: only a person may rule decide"):
        with write_session(engine) as s:
            require(s, bot, "rule.decide")


def test_token_lifecycle_is_audited_and_stores_only_a_hash(engine):
    world = make_world(engine)
    with write_session(engine) as s:
        mine = create_token(s, actor=world.owner, person_id=world.owner.id, name="laptop", days=30)
        bot_id = create_service_account(
            s, actor=world.admin, name="CI", email="ci@example.com", roles=[("model_owner", "")]
        )
        bots = create_token(s, actor=world.admin, person_id=bot_id, name="ci runner")
    assert mine.secret.startswith("stw_") and len(mine.secret) > 40
    with read_session(engine) as s:
        rows = s.exec(select(ApiToken)).all()
        stored = " ".join(f"{r.token_hash} {r.prefix} {r.name}" for r in rows)
        events = s.exec(select(AuditEvent).where(AuditEvent.object_type == "api_token")).all()
    assert mine.secret not in stored and bots.secret not in stored
    assert {r.token_hash for r in rows} == {
        hashlib.sha256(t.secret.encode()).hexdigest() for t in (mine, bots)
    }
    assert [(e.action, e.actor_email) for e in events] == [
        ("token.created", world.owner.email),
        ("token.created", world.admin.email),
    ]
    assert all(mine.secret not in (e.after or "") for e in events)
    with write_session(engine) as s:
        who = authenticate(s, bots.secret)
        assert (who.email, who.token_id) == ("ci@example.com", bots.view.id)
        # A token cannot create tokens (a stolen one could otherwise outlive its revocation).
        with pytest.raises(PermissionDenied, match="A token cannot create tokens"):
            create_token(s, actor=who, person_id=who.id, name="more")
        with pytest.raises(InvalidInput, match="a token lasts from 1 to 366 days"):
            create_token(s, actor=world.owner, person_id=world.owner.id, name="forever", days=5000)
        # Revoking: your own, or an admin anyone's; not someone else's as a non-admin.
        with pytest.raises(PermissionDenied, match="may not person manage"):
            revoke_token(s, actor=world.viewer, token_id=mine.view.id)
    with write_session(engine) as s:
        revoke_token(s, actor=world.owner, token_id=mine.view.id, reason="laptop lost")
    with write_session(engine) as s:
        with pytest.raises(Conflict, match="already revoked"):
            revoke_token(s, actor=world.admin, token_id=mine.view.id)
    with (
        write_session(engine) as s,
        pytest.raises(PermissionDenied, match="token 'laptop' .* was revoked on"),
    ):
        authenticate(s, mine.secret)
    # Expired, and acting as someone who left.
    with write_session(engine) as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.id == bots.view.id)
            .values(expires_at=utcnow() - timedelta(days=1))
        )
    with write_session(engine) as s, pytest.raises(PermissionDenied, match="token 'ci runner' .* expired on"):
        authenticate(s, bots.secret)
    viewer_token = insert_token(engine, world.viewer.email)
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.admin, person_id=world.viewer.id, active=False)
    with write_session(engine) as s, pytest.raises(PermissionDenied, match="acts as someone who has left"):
        authenticate(s, viewer_token)
    with write_session(engine) as s, pytest.raises(PermissionDenied, match="not known to this registry"):
        authenticate(s, "stw_" + "x" * 43)
    with read_session(engine) as s:
        listed = {v.name: v.status for v in list_tokens(s)}
        assert audit.verify(s).ok
    assert listed["laptop"] == "revoked" and listed["ci runner"] == "expired"


def test_bootstrap_mints_the_first_token_for_an_admin_or_service_account_only(cli, tmp_path):
    world = make_world(cli)
    out = tmp_path / "admin.token"
    result = plain.invoke(
        app, ["token", "bootstrap", "--person", world.admin.email, "--name", "first admin", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    secret = out.read_text().strip()
    assert secret.startswith("stw_") and secret not in result.output  # never echoed
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with read_session(cli) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "token.bootstrapped")).one()
    assert event.actor_email == world.system.email and '"operator":' in event.after
    # The token works from a file, and `--as` with it only checks it is the admin's.
    added = plain.invoke(
        app,
        [
            "--token-file",
            str(out),
            "add-person",
            "--name",
            "Nina New",
            "--email",
            "nina@example.com",
            "--as",
            world.admin.email,
        ],
    )
    assert added.exit_code == 0, added.output
    with read_session(cli) as s:
        nina = s.exec(
            select(AuditEvent).where(AuditEvent.action == "person.created").order_by(AuditEvent.id.desc())
        ).first()
    assert nina.actor_email == world.admin.email and nina.token_id is not None
    # Not for a human who is not an admin; never over an existing file; never a world-readable file.
    before = _events(cli)
    refused = plain.invoke(
        app,
        [
            "token",
            "bootstrap",
            "--person",
            world.approver.email,
            "--name",
            "x",
            "--out",
            str(tmp_path / "a.token"),
        ],
    )
    assert refused.exit_code == 1 and "neither an admin nor a service account" in refused.stderr
    again = plain.invoke(
        app, ["token", "bootstrap", "--person", world.admin.email, "--name", "x", "--out", str(out)]
    )
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert _events(cli) == before and not (tmp_path / "a.token").exists()
    out.chmod(0o644)
    loose = plain.invoke(app, ["--token-file", str(out), "token", "revoke", "1"])
    assert loose.exit_code == 1 and "can be read by other users" in loose.stderr


def test_cli_lists_and_revokes_tokens(cli):
    world = make_world(cli)
    with write_session(cli) as s:
        own = create_token(s, actor=world.owner, person_id=world.owner.id, name="laptop")
    listed = plain.invoke(app, ["token", "list", "--json"])
    assert listed.exit_code == 0 and '"name": "laptop"' in listed.stdout and own.secret not in listed.stdout
    revoked = plain.invoke(
        app, ["token", "revoke", str(own.view.id), "--reason", "rotating"], env={"STEWARD_TOKEN": own.secret}
    )
    assert revoked.exit_code == 0, revoked.output
    # The revoked token is refused from now on.
    after = plain.invoke(app, ["token", "revoke", str(own.view.id)], env={"STEWARD_TOKEN": own.secret})
    assert after.exit_code == 1 and "was revoked on" in after.stderr


def test_bootstrap_service_function_refuses_unknown_and_left_people(engine):
    world = make_world(engine)
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.admin, person_id=world.admin.id, active=False)
    with write_session(engine) as s:
        with pytest.raises(Conflict, match="has left"):
            bootstrap_token(s, system=world.system, email=world.admin.email, name="x")
        with pytest.raises(Exception, match="No person with email 'ghost@example.com'"):
            bootstrap_token(s, system=world.system, email="ghost@example.com", name="x")
    with read_session(engine) as s:
        assert s.exec(select(func.count()).select_from(ApiToken)).one() == 0
