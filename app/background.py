"""The optional in-app notification delivery worker (STEWARD_NOTIFY_IN_APP): one daemon thread per
app process runs ``core.notify.delivery.run_once`` every minute as the system account, so a small
installation needs no cron. Claims are leases, so several processes (and cron) never send one
notification twice. Nothing here runs unless the setting is on."""

from __future__ import annotations

import logging
import threading
from typing import Any

import streamlit as st

from app import bootstrap
from core.access import actor_by_email
from core.config import get_settings
from core.db.engine import read_session
from core.notify import delivery
from core.registry.services import SYSTEM_EMAIL

log = logging.getLogger(__name__)
INTERVAL_S = 60


class _Worker:
    def __init__(self, engine: Any) -> None:
        self.engine = engine  # taken in the script thread: the worker thread has no Streamlit context
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="steward-notify", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stopped.is_set():
            try:
                with read_session(self.engine) as s:
                    system = actor_by_email(s, SYSTEM_EMAIL)
                delivery.run_once(self.engine, actor=system)
            except Exception:  # a bad minute must not stop the next one
                log.exception("notification delivery failed; trying again in a minute")
            self.stopped.wait(INTERVAL_S)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)


@st.cache_resource(show_spinner=False)
def _worker(db: str) -> _Worker:
    return _Worker(bootstrap.engine())


def start_delivery() -> None:
    """Start the in-app delivery thread once per process when STEWARD_NOTIFY_IN_APP is on."""
    if get_settings().notify_in_app:
        _worker(bootstrap.database_url())


def stop_delivery() -> None:
    """Stop this process's delivery thread, if it runs (tests; a clean shutdown)."""
    if get_settings().notify_in_app:
        _worker(bootstrap.database_url()).stop()
