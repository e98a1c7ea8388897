"""A ledger writer process for the durability test: append forever, acknowledge each commit.

Usage: python ledger_crash_writer.py URL START_TAG

Alternates single appends and small batches; after each commit prints ``ACK <index> <leaf>`` for
every entry of that transaction and flushes, so the parent knows exactly what was acknowledged.
"""

from __future__ import annotations

import sys

from healthwall.ledger import Ledger
from healthwall.model.entries import KeyRotated

PSEUDONYM_KEY = b"test-pseudonym-key-0123456789abcdef"


def main() -> None:
    url, tag = sys.argv[1], sys.argv[2]
    ledger = Ledger.open(url, pseudonym_key=PSEUDONYM_KEY)
    n = 0
    print("READY", flush=True)
    while True:
        batch = [KeyRotated(key_kind="signing", key_id=f"{tag}-{n + i}") for i in range(n % 4 + 1)]
        with ledger.writer() as tx:
            receipts = tx.append_many(batch)
        n += len(batch)
        sys.stdout.write("".join(f"ACK {r.index} {r.leaf_hash}\n" for r in receipts))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
