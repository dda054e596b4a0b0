"""Recording and reading event logs (Parquet); see :mod:`gextui.store.schema` for the format."""

from gextui.store.reader import (
    PartitionRef,
    Recording,
    RecordingTickerError,
    SegmentInfo,
    find_recordings,
    open_recording,
)
from gextui.store.recorder import Recorder
from gextui.store.schema import RecordingError, default_recordings_dir
from gextui.store.snapshot_at import book_at

__all__ = [
    "PartitionRef",
    "Recorder",
    "Recording",
    "RecordingError",
    "RecordingTickerError",
    "SegmentInfo",
    "book_at",
    "default_recordings_dir",
    "find_recordings",
    "open_recording",
]
