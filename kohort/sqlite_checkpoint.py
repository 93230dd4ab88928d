"""WAL checkpoints on a thread of their own, off the event loop.

In WAL mode with `synchronous=NORMAL` a commit appends to the WAL and does not wait for the
disk: the only fsyncs are a checkpoint's, which copies the WAL back into the database file.
SQLite runs one by itself inside the COMMIT that takes the WAL past 1000 pages, on the thread
that commits; for the connections of `kohort.sqlite_direct` that is the event loop, and every
request in flight would wait for the copy and the fsync. Those connections turn the automatic
checkpoint off (`PRAGMA wal_autocheckpoint=0`) and a `Checkpointer` runs a PASSIVE checkpoint
every `interval_s` on its own connection instead. PASSIVE takes no lock that a reader or a
writer waits for: it copies what no reader still needs and returns, so it blocks nobody; the
next writer then starts the WAL over from its beginning.
"""

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class Checkpointer:
    """A daemon thread checkpointing one SQLite database file every `interval_s` seconds."""

    def __init__(self, path: str | Path, *, interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.interval_s = interval_s
        self.last: tuple[int, int] | None = None
        """(pages in the WAL, pages copied) of the last checkpoint that ran."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name=f"kohort-checkpoint:{self.path.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stops the thread and waits for it (at most one checkpoint's time)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def checkpoint(self) -> tuple[int, int] | None:
        """One PASSIVE checkpoint now: (pages in the WAL, pages copied), or None when the
        database cannot be opened (not created yet) or another checkpoint is running."""
        try:
            connection = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=0,
                check_same_thread=False,
            )
        except sqlite3.Error as error:
            log.debug("no checkpoint of %s: %s", self.path, error)
            return None
        try:
            busy, wal_pages, copied = connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
        except sqlite3.Error as error:
            log.debug("checkpoint of %s failed: %s", self.path, error)
            return None
        finally:
            connection.close()
        if busy:
            return None
        self.last = (wal_pages, copied)
        return self.last

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.checkpoint()
