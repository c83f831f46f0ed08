"""Notification throughput: the outbox's cost inside a write, dispatch, and delivery to a local receiver.

    python bench/notify.py [--events 2000] [--url sqlite:////tmp/bench-notify.db]

Registers ``--events`` versions (each writes one outbound event in its transaction, with and
without a subscribed webhook), then times ``steward notify deliver``'s work: dispatching the
events into deliveries, and sending them to an HTTP receiver on 127.0.0.1. Prints the figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import clock  # noqa: E402
from core.db.engine import make_engine, read_session, write_session  # noqa: E402
from core.db.migrate import upgrade  # noqa: E402
from core.notify import delivery, subscriptions  # noqa: E402
from core.registry import services  # noqa: E402
from tests.factories import make_model, make_world  # noqa: E402
from tests.notify_servers import http_receiver  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench-notify.db"
    engine = make_engine(url)
    upgrade(engine)
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with http_receiver() as receiver:
        with write_session(engine) as s:
            subscriptions.add_endpoint(
                s, actor=world.admin, channel="webhook", url=receiver.url, name="bench"
            )
        started = time.perf_counter()
        for _ in range(args.events):
            with write_session(engine) as s:
                services.register_version(s, actor=world.owner, model_id=model_id, metrics={"auc": 0.8})
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        events, created = delivery.dispatch(engine, now=clock.now())
        dispatch_s = time.perf_counter() - started
        started = time.perf_counter()
        sent = 0
        while True:
            report = delivery.run_once(engine, actor=world.system, limit=500)
            sent += report.sent
            if report.sent == 0:
                break
        send_s = time.perf_counter() - started
        with read_session(engine) as s:
            failed = delivery.health(s).failed
    print(f"backend: {engine.dialect.name}; events: {args.events}")
    print(f"register a version (one transaction, audit + outbox): {1000 * write_s / args.events:.2f} ms each")
    print(
        f"dispatch: {events} events into {created} deliveries in {dispatch_s:.2f} s ({events / dispatch_s:,.0f}/s)"
    )
    print(
        f"deliver: {sent} signed webhooks to 127.0.0.1 in {send_s:.2f} s ({sent / send_s:,.0f}/s); failed: {failed}"
    )
    print(f"receiver got {len(receiver.received)} POSTs")
    engine.dispose()


if __name__ == "__main__":
    main()
