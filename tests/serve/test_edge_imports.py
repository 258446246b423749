"""An edge worker loads neither the store's driver nor the loader nor FastAPI: it answers hits
from its spool and the catalog file, and each of those would cost every worker memory and
start-up time for code it never runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.server import REPO

# The edge worker's whole build, as `adtrack serve` has each worker do it (the factory
# app.serve.edge:create_edge_app, settings from ADTRACK_*); nothing is served.
BUILD_EDGE = """
import json, sys
from app.serve.edge import create_edge_app
create_edge_app()
print(json.dumps(sorted(sys.modules)))
"""

NOT_ON_THE_EDGE = ("fastapi", "starlette", "clickhouse_connect", "pyarrow", "chdb")
NOT_ON_THE_EDGE_MODULES = ("app.store.client", "app.ingest.loader", "app.serve.core")


def test_an_edge_worker_loads_no_store_client_loader_or_fastapi(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADTRACK_")}
    env.update(
        ADTRACK_DATA_DIR=str(tmp_path / "data"),
        # Never reached: creating the app connects to nothing.
        ADTRACK_CORE_URL="http://127.0.0.1:9",
    )
    done = subprocess.run(
        [sys.executable, "-c", BUILD_EDGE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "app.serve.edge" in loaded
    unwanted = [
        name
        for name in loaded
        if name.split(".")[0] in NOT_ON_THE_EDGE or name in NOT_ON_THE_EDGE_MODULES
    ]
    assert unwanted == []
