"""Where the time goes: a pyinstrument profile of the source pipeline (the processors' is taken in their process)."""

from __future__ import annotations

import gc

from pyinstrument import Profiler

from bench.common import kafka_settings
from bench.pipeline import prepared_producer, replay
from bench.recording import Recording
from connector.runtime.gcsetup import tune_gc

__all__ = ["profile_source_pipeline"]


async def profile_source_pipeline(bootstrap: str, recordings: list[Recording]) -> str:
    """One mixed replay of every recorded page under pyinstrument, as text; with the connector process's GC
    settings, as the measured replays (without them a full collection lands in whatever code runs then)."""
    settings = kafka_settings(bootstrap)
    producer = await prepared_producer(settings)
    gc_before = gc.get_threshold()
    tune_gc()
    try:
        await replay(settings, recordings, producer)  # warm: topics, metadata, partition cache
        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
        await replay(settings, recordings, producer)
        profiler.stop()
    finally:
        gc.unfreeze()
        gc.set_threshold(*gc_before)
        await producer.stop()
    text: str = profiler.output_text(unicode=True, color=False, show_all=False)
    return text
