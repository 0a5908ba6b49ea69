"""The stream, in plain Python (no Dagster): which landed batches wait (the watermark), the days and
reference tables they feed, writing them (apply.py), what asset runs already wrote (read_through.py),
and whether a run's worker process lives (liveness.py). The Dagster op, job and sensor that drive it
are in domains/stream/; the upload simulator that feeds it is amzn_assets/upload_simulator/."""
