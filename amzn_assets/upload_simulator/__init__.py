"""Feed the upload area one review at a time, like the older Airflow project (plain Python, no Dagster).

    split_dump(dump, "all_beauty", out_dir)                  a 5-core dump -> one-review .json.gz files
    upload_files(["all_beauty"], source_dir=..., target=...) those files -> the upload area (local or S3)

`amzn-assets split` and `amzn-assets upload` are the command-line faces of these two functions.
"""

from amzn_assets.upload_simulator.split import SplitError, SplitSummary, check_category, split_dump
from amzn_assets.upload_simulator.upload import UploadError, UploadSummary, parse_rate, upload_files

__all__ = [
    "SplitError",
    "SplitSummary",
    "UploadError",
    "UploadSummary",
    "check_category",
    "parse_rate",
    "split_dump",
    "upload_files",
]
