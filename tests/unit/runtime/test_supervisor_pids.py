"""``ports.json`` names the processes running now, also after the supervisor restarted one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from analyticbot.supervisor import Child, _write_pids


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])


def test_pids_follow_a_restarted_child(tmp_path: Path) -> None:
    listing: dict[str, object] = {"http": 8000}
    first, other = _sleeper(), _sleeper()
    children = [Child("analytics", {}, process=first), Child("auth", {}, process=other)]
    try:
        written = _write_pids(tmp_path, listing, children, {})
        stored = json.loads((tmp_path / "ports.json").read_text())
        assert stored == {"http": 8000, "pids": {"analytics": first.pid, "auth": other.pid}}
        assert _write_pids(tmp_path, listing, children, written) == written
        first.kill()
        first.wait()
        replacement = _sleeper()
        children[0].process = replacement
        _write_pids(tmp_path, listing, children, written)
        stored = json.loads((tmp_path / "ports.json").read_text())
        assert stored["pids"] == {"analytics": replacement.pid, "auth": other.pid}
    finally:
        for child in children:
            if child.process is not None:
                child.process.kill()
                child.process.wait()
