"""The Enseal server (layer L5; ARCHITECTURE.md section 4): an ASGI app (FastAPI) served by
uvicorn over TLS 1.3 only. It routes and enforces policy and never holds a key that decrypts an
end-to-end encrypted message or frame.

Entry points: :func:`create_app` (in-process), :func:`open_state` (store and keys of a data
directory), :func:`initialise_data_dir` (``enseal server init``), :func:`serve` (``enseal server
run``) and :mod:`enseal.server.launcher` (a real server process for tests and the demo).
docs/protocol.md describes the API, docs/server.md how to operate it.
"""

from enseal.server.app import create_app
from enseal.server.data_dir import DataDir, ServerConfig
from enseal.server.fanout import Fanout, InProcessFanout, Notice
from enseal.server.initialise import Initialised, initialise_data_dir
from enseal.server.runner import serve
from enseal.server.state import ServerState, open_state

__all__ = [
    "DataDir",
    "Fanout",
    "InProcessFanout",
    "Initialised",
    "Notice",
    "ServerConfig",
    "ServerState",
    "create_app",
    "initialise_data_dir",
    "open_state",
    "serve",
]
