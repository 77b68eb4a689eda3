"""Sign-ups that cannot be turned into a weapon: per-client and per-address limits shared by
every web worker, one confirmation per address per window, a honeypot.

Each "worker" is an app of its own with its own database engine and connections on the same
database file, as separate gunicorn processes would have; confirmations reach a real aiosmtpd
server.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from datetime import timedelta

import pytest

from digest.app import make_app
from digest.config import load_settings
from subscribers.optin import send_queued
from tests.clocks import Clock
from tests.conftest import Workspace
from tests.sites import T0, web_site


@pytest.fixture
def workers(workspace: Workspace):
    """Two web workers on one database, with a shared clock; limits set low for the test."""
    workspace.config.write_text(
        workspace.config.read_text().replace(
            "[web]",
            "[web]\nsubscribes_per_ip_per_hour = 3\nsubscribes_per_address_per_hour = 4\n"
            "confirm_resend_hours = 6",
            1,
        )
    )
    clock = Clock(T0)
    with ExitStack() as stack:
        sites = [stack.enter_context(web_site(workspace, clock)) for _ in range(2)]
        yield [app for app, _ in sites], [client for _, client in sites], clock


def post(client, email: str, ip: str, **extra: str):
    return client.post(
        "/subscribe", data={"email": email, **extra}, environ_base={"REMOTE_ADDR": ip}
    )


def test_a_flood_from_one_client_is_cut_off_across_workers(workers):
    apps, clients, clock = workers
    answers = [
        post(clients[i % 2], f"reader{i}@example.com", "203.0.113.7").status_code for i in range(10)
    ]
    assert answers == [200] * 3 + [429] * 7
    assert send_queued(apps[0]).signups == 3
    assert len(apps[0].subscribers.list(status="pending")) == 3
    # someone else is not affected; an IPv6 client is counted by its /64
    assert post(clients[0], "other@example.com", "198.51.100.1").status_code == 200
    six = [post(clients[1], f"v6-{i}@example.com", f"2001:db8::{i + 1}") for i in range(4)]
    assert [answer.status_code for answer in six] == [200, 200, 200, 429]
    assert "Too many" in six[-1].get_data(True)
    # the next hour, the client may sign up again
    clock.now += timedelta(hours=1)
    assert post(clients[0], "later@example.com", "203.0.113.7").status_code == 200


def test_a_flood_for_one_address_sends_one_confirmation_per_window(workers, smtp_server):
    apps, clients, clock = workers
    victim = "victim@example.com"
    answers = [post(clients[i % 2], victim, f"192.0.2.{i + 1}").status_code for i in range(12)]
    assert answers == [200] * 4 + [429] * 8
    assert send_queued(apps[0]).sent == 1
    assert send_queued(apps[1]).sent == 0
    assert smtp_server.handler.recipients() == [victim]
    # within the resend window: the form answers as always, nothing more is sent
    clock.now += timedelta(hours=5)
    assert post(clients[0], victim, "192.0.2.100").status_code == 200
    assert send_queued(apps[0]).sent == 0
    # once the window has passed, one more
    clock.now += timedelta(hours=1, minutes=1)
    for i in range(3):
        assert post(clients[1], victim, f"192.0.2.{200 + i}").status_code == 200
    assert send_queued(apps[1]).sent == 1
    assert smtp_server.handler.recipients() == [victim, victim]


def test_a_filled_honeypot_gets_the_usual_answer_and_nothing_is_stored_or_sent(
    workers, smtp_server
):
    apps, clients, _ = workers
    page = clients[0].get("/subscribe").get_data(as_text=True)
    assert 'name="website"' in page and 'tabindex="-1"' in page
    human = post(clients[0], "human@example.com", "192.0.2.1")
    robot = post(clients[0], "robot@example.com", "192.0.2.2", website="http://spam.example")
    assert (robot.status_code, robot.get_data(True)) == (human.status_code, human.get_data(True))
    assert send_queued(apps[0]).sent == 1
    assert apps[0].subscribers.find("robot@example.com") is None
    assert smtp_server.handler.recipients() == ["human@example.com"]


def test_the_database_counter_loses_no_hit_under_concurrent_workers(workspace: Workspace):
    from subscribers.signup_limits import DatabaseStorage

    clock = Clock(T0)
    apps = [make_app(load_settings(workspace.config), clock=clock) for _ in range(4)]
    try:
        stores = [DatabaseStorage(database=app.database, clock=clock) for app in apps]
        start = threading.Barrier(len(stores))

        def hammer(store: DatabaseStorage) -> None:
            start.wait()
            for _ in range(25):
                store.incr("k", 3600)

        threads = [threading.Thread(target=hammer, args=(store,)) for store in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert stores[0].get("k") == 100
        assert stores[0].get_expiry("k") == T0.timestamp() + 3600
        clock.now += timedelta(hours=1)  # the window has ended: a new one starts at 1
        assert stores[1].get("k") == 0 and stores[1].incr("k", 3600) == 1
    finally:
        for app in apps:
            app.close()


def test_leaving_and_signing_up_again_gets_a_new_link_within_the_window(workers, smtp_server):
    apps, clients, clock = workers
    app = apps[0]
    assert post(clients[0], "kay@example.com", "192.0.2.1").status_code == 200
    assert send_queued(app).sent == 1
    kay = app.subscribers.find("kay@example.com")
    app.subscribers.confirm_pending(
        kay.id, app.subscribers.confirmation_nonce(kay.id), now=T0, source="test"
    )
    app.subscribers.set_status(kay.id, "unsubscribed", now=T0)  # their own choice
    clock.now += timedelta(minutes=10)
    for ip in ("192.0.2.2", "192.0.2.3"):
        assert post(clients[1], "kay@example.com", ip).status_code == 200
    # the new pending period's link goes out at once, and only once
    assert send_queued(app).sent == 1
    assert smtp_server.handler.recipients() == ["kay@example.com", "kay@example.com"]


def test_two_web_processes_share_the_limits(workspace: Workspace):
    """Two real `digest web` processes on one database, as gunicorn workers would be."""
    import os
    import socket
    import subprocess
    import sys
    import urllib.error
    import urllib.parse
    import urllib.request
    from pathlib import Path

    workspace.config.write_text(
        workspace.config.read_text().replace("[web]", "[web]\nsubscribes_per_ip_per_hour = 3", 1)
    )
    workspace.invoke("status")  # the database made once, before two processes open it
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "digest", "--config", str(workspace.config), "web"]
            + ["--host", "127.0.0.1", "--port", str(port)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for port in ports
    ]
    try:
        for process in processes:
            assert process.stderr is not None
            assert "serving on" in process.stderr.readline()  # listening from here on

        def post(port: int, email: str) -> int:
            body = urllib.parse.urlencode({"email": email}).encode()
            url = f"http://127.0.0.1:{port}/subscribe"
            try:
                with urllib.request.urlopen(url, data=body, timeout=30) as answer:
                    return int(answer.status)
            except urllib.error.HTTPError as refused:
                return refused.code

        codes = [post(ports[i % 2], f"w{i}@example.com") for i in range(6)]
        assert codes == [200, 200, 200, 429, 429, 429]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=60)
            if process.stderr is not None:
                process.stderr.close()
