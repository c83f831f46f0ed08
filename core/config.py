"""One settings class for the whole product. Nothing runs at import time.

Every setting can be given as an environment variable prefixed ``STEWARD_`` (e.g.
``STEWARD_DATABASE_URL``) or in a ``.env`` file in the working directory. The README's
configuration table is checked against this class by a test.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STEWARD_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'data' / 'steward.db'}",
        description="Registry database. sqlite:///path/to/file.db (default, embedded) or "
        "postgresql+psycopg://user:password@host:5432/dbname.",
    )
    artifact_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "artifacts",
        description="Directory of the artifact store: model files are only loaded from here, "
        "and only when their sha256 matches the registry.",
    )
    report_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "reports",
        description="Directory where generated reports (drift HTML, meeting minutes, documentation packs) are kept.",
    )
    log_store: str = Field(
        default="",
        description="Where logged predictions are kept, as Parquet files by model, version and day: a "
        "directory, or an fsspec URL such as s3://bucket/steward-logs. Empty: a 'logs' directory beside "
        "STEWARD_ARTIFACT_DIR.",
    )
    log_source_roots: str = Field(
        default="",
        description="Where prediction logs may be read in place (`steward log-source`): directories "
        "or URL prefixes, separated by commas, e.g. /lake/ml,s3://bucket/preds. Empty: no version may "
        "read logs in place. Steward's own artifact and log stores are never allowed.",
    )
    auth_mode: Literal["local", "oidc"] = Field(
        default="local",
        description="'local' lets you pick a demo person (for local use and tests); 'oidc' signs in "
        "through the [auth] section of .streamlit/secrets.toml.",
    )
    allow_network_local_mode: bool = Field(
        default=False,
        description="Local mode (no sign-in: anyone who reaches the app picks who they are) serves only "
        "this machine (127.0.0.1). Set to 1 to serve it on another address anyway, e.g. a demo on a "
        "closed network; every page then says so.",
    )
    audit_hmac_key: str = Field(
        default="",
        description="Optional secret mixed into every audit hash (HMAC-SHA256). With it set, "
        "nobody without the key can recompute a tampered chain.",
    )
    pickle_artifacts: Literal["refuse", "sandbox"] = Field(
        default="refuse",
        description="Pickle-based model files (pickle, joblib) are never opened by the app or the CLI: "
        "'refuse' (default) says so and asks for skops; 'sandbox' opens them in a short-lived worker "
        "process without the environment's secrets, that cannot write files, and loads its skops copy.",
    )
    demo_seed: int = Field(default=20241, description="Seed of the deterministic demo portfolio.")
    upload_max_mb: int = Field(
        default=50, description="Largest file (MiB) accepted by page uploads and CLI imports."
    )
    audit_anchor_dir: str = Field(
        default="",
        description="Directory of audit anchors (checkpoints of the log written by `steward audit anchor`), "
        "ideally on write-once storage. `steward check` and `steward audit verify` compare the log with them; "
        "empty: no anchors (cutting or wiping the log then goes unnoticed).",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=15000, description="How long an SQLite writer waits for the lock before giving up."
    )
    # --- notifications (core/notify): links, e-mail and webhook delivery ------------------------
    base_url: str = Field(
        default="http://localhost:8501",
        description="Address people open Steward at (e.g. https://steward.example.com); links in "
        "e-mails, webhooks and downloaded reports (minutes, documentation packs) point at its pages.",
    )
    smtp_host: str = Field(
        default="", description="SMTP server for e-mail notifications; empty: no e-mail is sent."
    )
    smtp_port: int = Field(default=587, description="Port of the SMTP server (587 STARTTLS, 465 TLS).")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="'starttls' upgrades the connection, 'tls' connects over TLS (port 465), 'none' "
        "sends in clear (only for a relay on the same host).",
    )
    smtp_username: str = Field(default="", description="SMTP user name; empty: no login.")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    smtp_from: str = Field(default="steward@localhost", description="Sender address of notification e-mails.")
    smtp_ca_file: str = Field(
        default="",
        description="Extra CA certificate (PEM) to trust for the SMTP server, e.g. an internal CA; "
        "the system's CAs are always trusted.",
    )
    smtp_timeout_s: int = Field(default=20, description="Seconds to wait for the SMTP server.")
    webhook_timeout_s: int = Field(
        default=10, description="Seconds to wait for a webhook, Slack or Teams endpoint to answer."
    )
    notify_max_attempts: int = Field(
        default=10, description="Tries per notification before it is given up and shown as failed."
    )
    notify_retry_base_s: int = Field(
        default=60,
        description="Wait before the first retry; each further retry waits twice as long (at most "
        "six hours).",
    )
    notify_in_app: bool = Field(
        default=False,
        description="Also deliver notifications from a background thread of each app process, "
        "besides `steward notify deliver` in cron.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def reset_settings_cache() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
