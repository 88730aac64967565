import subprocess
import sys

import psutil

from fedrec.resources import PeakRSS, tree_memory_bytes


def test_anonymous_memory_grows_with_an_allocation_and_stays_below_rss():
    # Prepare: a fresh interpreter, since this one's allocator may already hold freed memory
    # (node set-up keeps large freed blocks in the heap) that an allocation would reuse.
    code = (
        "import numpy as np, psutil\n"
        "from fedrec.resources import tree_memory_bytes\n"
        "me = psutil.Process()\n"
        "_, before = tree_memory_bytes(me)\n"
        "block = np.ones(50_000_000, dtype=np.float32)\n"  # 200 MB, written, hence resident
        "rss, held = tree_memory_bytes(me)\n"
        "print(before, rss, held, int(block.sum()))\n"
    )
    # Execute
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, rss, held, total = (int(x) for x in out.stdout.split())
    # Assert
    assert held - before > 150e6
    assert held <= rss
    assert total == 50_000_000


def test_peak_counts_child_processes_after_they_exit():
    # Prepare: a child holding 100 MB for a moment
    code = "import numpy as np, time; a = np.ones(25_000_000, 'f4'); time.sleep(1.0)"
    _, before = tree_memory_bytes(psutil.Process())

    # Execute
    with PeakRSS(interval=0.05) as peak:
        subprocess.run([sys.executable, "-c", code], check=True)
    _, after = tree_memory_bytes(psutil.Process())

    # Assert
    assert peak.peak_held_bytes - before > 90e6
    assert after < peak.peak_held_bytes
    assert peak.peak_mb >= peak.peak_held_mb
