"""Taking rows one claimer at a time, on any database: read, then a conditional UPDATE a row.

Several processes may hold the same queue (web workers, the daemon): each reads the rows it
could take, then takes each in a transaction of its own with an UPDATE that only matches the
row as it was read. Of two claimers that read the same row, only one UPDATE changes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Executable, Row, Update
from sqlalchemy.orm import Session, sessionmaker


def claim_each(
    sessions: sessionmaker[Session],
    candidates: Executable,
    take: Callable[[Row[Any]], Update],
) -> list[Row[Any]]:
    """The rows of ``candidates`` whose ``take(row)`` UPDATE changed them, in their order."""
    with sessions() as session:
        rows = session.execute(candidates).all()
    claimed = []
    for row in rows:
        with sessions.begin() as session:
            taken = session.execute(take(row))
        if taken.rowcount:  # type: ignore[attr-defined]
            claimed.append(row)
    return claimed
