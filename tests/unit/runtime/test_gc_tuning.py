"""tune_gc, in a process of its own (it changes the whole interpreter's collector)."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

SCRIPT = """
import gc
from analyticbot.runtime.gc_tuning import THRESHOLDS, tune_gc
assert gc.get_freeze_count() == 0
tune_gc()
assert gc.get_threshold() == THRESHOLDS, gc.get_threshold()
assert gc.get_freeze_count() > 1_000, gc.get_freeze_count()  # the imports, at least
garbage = []
garbage.append(garbage)  # a cycle: reference counting alone never frees it
del garbage
assert gc.collect() >= 1  # cycles are still collected
"""


def test_tune_gc_freezes_startup_and_raises_the_thresholds() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
