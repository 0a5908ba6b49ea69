"""The stream: stream_sensor requests stream_job runs that land uploads and materialize the days they fed."""
