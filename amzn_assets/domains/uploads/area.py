"""upload_area: the folder (or S3 prefix) files are uploaded to, as an external asset (AssetSpec).

Dagster does not materialize it: uploaders (`amzn-assets upload`, `split`, any client) write there,
and landed_reviews / landed_climate land what they find (docs/landing.md). Declaring it puts the
source of all data at the start of the lineage graph, with its location as dagster/uri.
"""

from dagster import AssetSpec

from amzn_assets.settings import Settings
from amzn_assets.wiring import groups
from amzn_assets.wiring.catalog import upload_area_uri


def upload_area(settings: Settings) -> AssetSpec:
    uri = upload_area_uri(settings)
    return AssetSpec(
        "upload_area",
        group_name=groups.UPLOADS,
        owners=groups.OWNERS,
        kinds={"s3", "json", "csv"} if uri.startswith("s3://") else {"json", "csv"},
        metadata={"dagster/uri": uri},
        description=(
            "Where files are uploaded: reviews/<category>/*.json.gz, metadata/products/*.json.gz, "
            "metadata/climate/ghcnd-stations.txt, climate/*.csv (data/README.md). Landed exactly once, then archived."
        ),
    )
