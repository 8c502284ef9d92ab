"""``python -m copyloop.service.batch_child SPEC.json``: one service batch job, in its own process.

Why a child process and not a thread of the server: a catalog takes hours, and ``rewrite_catalog``
embeds the whole catalog for its diversity pass — in the server process that would share the
embedding model's tokenizer with live requests (not safe across threads) and hold the model thread
for hours. In a child it has its own models (loaded once, in this process), its own core, and a
crash in native code ends the batch, not the server. The server watches the job store for
progress. The child exits when the server dies (it polls its parent), so a restarted server never
finds a stray writer: it just runs the batch again and ``rewrite_catalog`` resumes it.

Exit codes: 0 every item finished, 1 some item or row failed (the summary lists them), 2 the
batch could not run (the message is in ``error.json``), 3 the server went away.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(3)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    spec_path = Path(argv[1])
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    threading.Thread(target=_watch_parent, args=(int(spec["parent_pid"]),), daemon=True).start()
    folder = spec_path.parent
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from copyloop.batch import rewrite_catalog
    from copyloop.errors import CopyloopError
    from copyloop.settings import Settings

    settings = Settings(**spec["settings"])
    try:
        summary = rewrite_catalog(
            spec["source"], spec["channels"], spec["out"], workers=int(spec["workers"]), limit=spec.get("limit"),
            settings=settings, columns=spec.get("columns"), quiet=True, seed=int(spec["seed"]),
            diversity=bool(spec.get("diversity", True)),
            snapshot_seconds=float(spec.get("snapshot_seconds", 10.0)),
        )
    except CopyloopError as exc:
        _write_json(folder / "error.json", {"error": f"{type(exc).__name__}: {exc}"})
        return 2
    _write_json(folder / "summary.json", summary.model_dump(mode="json"))
    return summary.exit_code()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
