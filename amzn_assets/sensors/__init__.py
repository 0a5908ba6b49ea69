"""Streaming: stream_sensor requests stream_job runs that land uploads and materialize the days they fed."""

from amzn_assets.sensors.stream import stream_job, stream_sensor

__all__ = ["stream_job", "stream_sensor"]
