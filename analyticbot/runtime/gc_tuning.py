"""Garbage-collector settings for a long-running service process, applied once it has
started and before it serves.

With CPython's defaults (a young collection every 700 net allocations, a full one after
ten middle ones), a read that decodes thousands of rows (a big channel's overview:
2 x 2,740 rows with arrays, then a tuple or three per post) promotes enough objects that
full collections ran during most big overviews, each walking every object the process
holds: modules, protobuf descriptors, pools, caches. Measured on the 11-million-row
bench database, one overview after another in one process: median 88-97 ms with the
defaults, 50-53 ms with the settings below, and 46 ms with the collector off
(docs/benchmarks.md, docs/decisions.md).

- ``gc.freeze()`` moves everything alive at startup (imports, settings, pools) into a
  permanent generation that no collection walks again.
- Young collections every 50,000 net allocations, middle ones every 20 young ones, full
  ones after 50 middle ones (and, as always, only once the objects that survived into
  the old generation have grown by a quarter). Reference counting still frees
  everything that is not in a cycle at once; only cyclic garbage waits longer.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

THRESHOLDS = (50_000, 20, 50)


def tune_gc() -> None:
    """Freeze what startup left alive and raise the collection thresholds. Call once, in
    a service's own process, right before it starts serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    log.info("gc: %d objects frozen, thresholds %s", gc.get_freeze_count(), THRESHOLDS)
