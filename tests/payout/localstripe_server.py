"""localstripe on 127.0.0.1:PORT, its state kept in STATE (localstripe itself always uses
/tmp/localstripe.pickle, which parallel runs would share). Run: python localstripe_server.py
PORT STATE. A restart with the same STATE finds the objects made before."""

import pickle
import sys
from typing import Any

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    port, state = int(sys.argv[1]), sys.argv[2]

    def load(self: Any) -> None:
        try:
            with open(state, "rb") as file:
                self.clear()
                self.update(pickle.load(file))
        except FileNotFoundError:
            pass

    def dump(self: Any) -> None:
        with open(state, "wb") as file:
            pickle.dump(dict(self), file, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump
    resources.store.try_load_from_disk()
    web.run_app(server.app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
