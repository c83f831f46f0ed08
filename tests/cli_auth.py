"""Authenticating CLI calls in tests: every command that changes the registry needs a personal
access token, so tests give each invocation the token of the person it names with ``--as``.

``--as EMAIL`` is only a check in the CLI (the token decides who acts); ``TokenRunner`` supplies
EMAIL's own token, as a pipeline would from its token file. Tokens are inserted directly (as an
operator with database access could), so minting them adds no audit events to the counts the
tests compare; the real minting path, with its audit event, is tested in test_tokens.py.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from core.clock import now as utcnow
from core.config import get_settings
from core.db.engine import make_engine, write_session
from core.db.models import ApiToken, Person
from core.identity import TOKEN_PREFIX


def insert_token(engine: Engine, email: str, *, days: int = 30, name: str = "test") -> str:
    """A fresh token for the person with ``email`` (inserted directly, unaudited). Returns the secret."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_session(engine) as session:
        person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
        assert person is not None, f"no person {email} to give a token to"
        now = utcnow()
        session.add(
            ApiToken(
                person_id=person.id,  # type: ignore[arg-type]
                name=name,
                token_hash=hashlib.sha256(secret.encode()).hexdigest(),
                prefix=secret[:10],
                created_at=now,
                created_by_id=person.id,  # type: ignore[arg-type]
                expires_at=now + timedelta(days=days),
            )
        )
    return secret


class TokenRunner(CliRunner):
    """A CliRunner whose invocations naming ``--as EMAIL`` run with EMAIL's own token (from the
    registry at STEWARD_DATABASE_URL); others run without a token unless ``env`` gives one.

    Tokens are minted once per registry and person; ``ready(email)`` mints one before a test
    snapshots row counts, so the token is not counted as something the command wrote."""

    def __init__(self, *args: Any, default_as: str = "", **kwargs: Any) -> None:
        """``default_as``: whose token invocations without ``--as`` hold (e.g. the system
        service account, as cron jobs do); none by default."""
        super().__init__(*args, **kwargs)
        self._tokens: dict[tuple[str, str], str] = {}
        self._default_as = default_as

    def invoke(self, cli: Any, args: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        args = [str(a) for a in (args or [])]
        email = self._default_as
        if "--as" in args:
            email = args[len(args) - 1 - args[::-1].index("--as") + 1]  # the last --as, as typer reads it
        if email:
            env = dict(kwargs.pop("env", None) or {})
            if "STEWARD_TOKEN" not in env:
                env["STEWARD_TOKEN"] = self.ready(email)
            kwargs["env"] = env
        return super().invoke(cli, args, **kwargs)

    def ready(self, email: str) -> str:
        """EMAIL's token in the registry at STEWARD_DATABASE_URL (minted on first use)."""
        url = get_settings().database_url
        key = (url, email.strip().lower())
        if key not in self._tokens:
            engine = make_engine(url)
            try:
                # An unknown email gets a token of nobody: the CLI then says the token is unknown.
                known = _person_exists(engine, email)
                self._tokens[key] = insert_token(engine, email) if known else TOKEN_PREFIX + "unknown"
            finally:
                engine.dispose()
        return self._tokens[key]


def _person_exists(engine: Engine, email: str) -> bool:
    with write_session(engine) as session:
        return (
            session.exec(select(Person.id).where(Person.email == email.strip().lower())).first() is not None
        )
