"""The monitor's GC policy: what lives as long as the app is frozen, full passes run after every
middle pass (small and frequent), and both are undone at the end."""

from __future__ import annotations

import gc

from gextui.ui.gc_policy import FULL_PASS_AFTER, restore, settle


def test_settle_freezes_and_makes_full_passes_small_then_restore_undoes_it() -> None:
    before = gc.get_threshold()
    keep = [{"alive": i} for i in range(100)]  # tracked objects alive at settle()
    previous = settle()
    try:
        assert previous == before
        assert gc.get_threshold() == (before[0], before[1], FULL_PASS_AFTER)
        assert FULL_PASS_AFTER < 10  # CPython's default: ten middle passes per full one
        assert gc.get_freeze_count() >= len(keep)
    finally:
        restore(previous)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_large_blocks_go_back_to_the_system_on_glibc() -> None:
    import platform
    import sys

    from gextui.ui.gc_policy import release_large_blocks

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert release_large_blocks() is glibc
