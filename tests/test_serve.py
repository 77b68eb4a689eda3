"""digest serve (APScheduler with its job in our database) and the job it runs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from digest.schedule import daily_job
from tests.conftest import Workspace


def test_daily_job_fetches_builds_and_sends_today(workspace, fixture_feeds, smtp_server):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("subscribers", "add", "ada@example.com")
    daily_job(str(workspace.config))
    assert smtp_server.handler.recipients() == ["ada@example.com"]
    daily_job(str(workspace.config))  # a second run the same day sends nothing more
    assert len(smtp_server.handler.messages) == 1


def test_serve_stores_its_job_and_stops_cleanly_on_sigterm(workspace: Workspace):
    workspace.write_config(timezone="Europe/Paris", send_time="07:15")
    workspace.invoke("feeds", "list")  # creates the database
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(workspace.config), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        jobs: list = []
        while time.monotonic() < deadline and not jobs:
            time.sleep(0.2)
            with sqlite3.connect(workspace.database) as db:
                tables = {row[0] for row in db.execute("select name from sqlite_master")}
                if "apscheduler_jobs" in tables:
                    jobs = db.execute("select id, next_run_time from apscheduler_jobs").fetchall()
        assert [job_id for job_id, _ in jobs] == ["daily-digest"]
        next_run = time.gmtime(jobs[0][1])
        assert (next_run.tm_hour, next_run.tm_min) in {(5, 15), (6, 15)}  # 07:15 Paris, CEST/CET
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "daily digest at 07:15 Europe/Paris" in stderr
    assert "next run: " in stderr
    assert "stopped" in stderr
    assert "Traceback" not in stderr


def test_serve_without_a_config_file_refuses(isolated):
    result = subprocess.run(
        [sys.executable, "-m", "digest", "serve"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "no digest.toml" in result.stderr
