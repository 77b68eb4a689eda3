"""One claimer process for the claim stress test: claims rows of an edition in small batches
and records each batch as sent, until none are due; prints the ids it claimed as JSON.

Run as ``python -m tests.claimer URL EDITION_ID`` (the test starts several at once).
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import timedelta

from digest.clock import system_clock
from digest.delivery.ledger import Ledger, Outcome
from digest.store.database import open_database
from digest.types import DeliveryStatus
from subscribers.store import SubscriberStore
from subscribers.suppression import AddressHasher


def main(url: str, edition_id: int) -> None:
    token = uuid.uuid4().hex
    claimed: list[int] = []
    with open_database(url) as database:
        ledger = Ledger(
            database, SubscriberStore(database, hasher=AddressHasher("k"), topic_key=lambda: "t")
        )
        while batch := ledger.claim(
            edition_id,
            now=system_clock(),
            lease=timedelta(minutes=10),
            limit=25,
            token=token,
        ):
            claimed += [d.id for d in batch]
            ledger.record(
                [Outcome(d.id, d.subscriber_id, DeliveryStatus.SENT, "250 ok") for d in batch],
                now=system_clock(),
                max_hard_bounces=1,
                token=token,
            )
    print(json.dumps(claimed))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
