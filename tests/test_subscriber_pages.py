"""Reading the whole list: one query per page, keyed on the last id, whatever its length."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from digest.app import make_app
from digest.config import load_settings
from tests.conftest import Workspace
from tests.test_delivery import add_subscribers


def test_the_active_list_is_read_one_query_per_page(workspace: Workspace):
    people = [f"k{n:03}@example.com" for n in range(95)]
    add_subscribers(workspace, people)
    workspace.sql("update subscribers set status = 'unsubscribed' where email = 'k050@example.com'")
    workspace.sql(
        "delete from list_members where subscriber_id ="
        " (select id from subscribers where email = 'k051@example.com')"
    )
    with make_app(load_settings(workspace.config)) as app:
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        event.listen(app.database.engine, "before_cursor_execute", seen)
        day = datetime(2026, 3, 2, tzinfo=UTC).date()
        emails = [s.email for s in app.subscribers.iter_active(10, not_delivered=("t", day, 1))]
        event.remove(app.database.engine, "before_cursor_execute", seen)
    # everyone on a list and active, in id order, the unsubscribed and the one on no list left out
    assert emails == [e for e in people if e not in ("k050@example.com", "k051@example.com")]
    pages = [s for s in statements if "FROM subscribers" in s]
    assert len(pages) == 11  # ten full pages and the empty one that ends the read
    assert all("list_members" in s and "subscribers.id >" in s for s in pages)
    assert not [s for s in statements if s.lstrip().startswith("SELECT list_members")]
