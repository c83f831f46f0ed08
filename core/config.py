"""One settings class for the whole product. Nothing runs at import time.

Every setting can be given as an environment variable prefixed ``STEWARD_`` (e.g.
``STEWARD_DATABASE_URL``) or in a ``.env`` file in the working directory. The README's
configuration table is checked against this class by a test.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
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
    auth_mode: Literal["local", "oidc"] = Field(
        default="local",
        description="'local' lets you pick a demo person (for local use and tests); 'oidc' signs in "
        "through the [auth] section of .streamlit/secrets.toml.",
    )
    audit_hmac_key: str = Field(
        default="",
        description="Optional secret mixed into every audit hash (HMAC-SHA256). With it set, "
        "nobody without the key can recompute a tampered chain.",
    )
    demo_seed: int = Field(default=20241, description="Seed of the deterministic demo portfolio.")
    upload_max_mb: int = Field(
        default=50, description="Largest file (MiB) accepted by page uploads and CLI imports."
    )
    sqlite_busy_timeout_ms: int = Field(
        default=15000, description="How long an SQLite writer waits for the lock before giving up."
    )
    cli_actor: str = Field(
        default="system@steward.local",
        description="Email of the person the `steward` CLI acts as (pipelines, cron); that person "
        "needs the role the command requires.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def reset_settings_cache() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
