"""A writer that a test kills with SIGKILL: it prints ``ACK <n>`` after each committed change."""

from __future__ import annotations

import sys

from core.db.engine import make_engine, write_session
from core.registry import services


def main(url: str, start: int) -> None:
    engine = make_engine(url)
    with write_session(engine) as s:
        system = services.ensure_system_person(s)
    i = start
    while True:
        with write_session(engine) as s:
            pid = services.create_person(
                s, actor=system, name=f"Crash {i}", email=f"crash{i}@example.com", roles=[("viewer", "")]
            )
            services.set_person_active(s, actor=system, person_id=pid, active=True)
        print(f"ACK {i}", flush=True)
        i += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
