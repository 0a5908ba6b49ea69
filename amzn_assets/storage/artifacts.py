"""Model artifacts: a folder per asset and partition, <base>/<asset>/<partition>/, on local disk or S3.

    local (default)   <data_dir>/models/rating_model/2018-05/model.keras, ...
    AMZN_BACKEND=s3   s3://bucket/prefix/models/rating_model/2018-05/model.keras, ...

Assets return an ArtifactDir (a local folder, usually a staging folder from `stage`); the IO manager
replaces the partition's stored folder with it whole, so a re-materialization never leaves files of
an older one behind. A downstream asset receives an ArtifactDir with a local folder: the stored one
itself on local disk, a downloaded copy for S3 (TensorFlow and SentencePiece read local files).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    ConfigurableIOManagerFactory,
    Failure,
    InputContext,
    IOManager,
    MetadataValue,
    OutputContext,
)
from dagster_aws.s3 import S3Resource


MODELS_DIR = "models"


@dataclass(frozen=True)
class ArtifactDir:
    """A local folder of artifact files. staged=True: a temporary folder the IO manager moves into
    storage (or deletes after uploading it)."""

    path: Path
    staged: bool = False


def stage(asset: str) -> Path:
    """A fresh temporary folder to write an artifact into (unique, so concurrent runs never collide)."""
    return Path(tempfile.mkdtemp(prefix=f"amzn-{asset}-"))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


class ArtifactStore:
    """Partition folders under a base: a local folder or s3://bucket/prefix (through UPath/s3fs)."""

    def __init__(self, base: str, storage_options: dict | None = None):
        self.base = base.rstrip("/")
        self.remote = "://" in self.base and not self.base.startswith("file://")
        if self.remote:
            from upath import UPath

            self._root = UPath(self.base, **(storage_options or {}))
        else:
            self._root = Path(self.base.removeprefix("file://"))

    def __repr__(self) -> str:
        return f"ArtifactStore({self.base!r})"

    def location(self, asset: str, partition: str) -> str:
        return f"{self.base}/{asset}/{partition}"

    def exists(self, asset: str, partition: str) -> bool:
        folder = self._root / asset / partition
        if not self.remote:
            return folder.is_dir()
        return bool(folder.fs.find(folder.path, maxdepth=None))

    def partitions(self, asset: str) -> list[str]:
        """The partitions stored for an asset, sorted (time partition keys sort by time)."""
        folder = self._root / asset
        if not self.remote:
            return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else []
        try:
            entries = folder.fs.ls(folder.path, detail=True)
        except FileNotFoundError:
            return []
        names = (e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")
        return sorted(name for name in names if not name.startswith("."))

    def put(self, asset: str, partition: str, source: Path, move: bool = False) -> str:
        """Replace the stored folder with `source` whole; move=True consumes source (a staging folder)."""
        source = Path(source)
        if not source.is_dir():
            raise FileNotFoundError(f"artifact folder {source} does not exist")
        if self.remote:
            self._put_remote(asset, partition, source)
            if move:
                shutil.rmtree(source, ignore_errors=True)
        else:
            self._put_local(asset, partition, source, move)
        return self.location(asset, partition)

    def _put_local(self, asset: str, partition: str, source: Path, move: bool) -> None:
        dest = self._root / asset / partition
        dest.parent.mkdir(parents=True, exist_ok=True)
        incoming = dest.parent / f".{partition}.incoming-{uuid.uuid4().hex}"
        if move:
            try:
                os.replace(source, incoming)  # same filesystem: a rename
            except OSError:
                shutil.move(str(source), str(incoming))
        else:
            shutil.copytree(source, incoming)
        outgoing = dest.parent / f".{partition}.outgoing-{uuid.uuid4().hex}"
        if dest.exists():
            os.replace(dest, outgoing)
        os.replace(incoming, dest)  # readers see the old folder or the new one, never a mix
        shutil.rmtree(outgoing, ignore_errors=True)

    def _put_remote(self, asset: str, partition: str, source: Path) -> None:
        dest = self._root / asset / partition
        fs = dest.fs
        written = set()
        for file in _files(source):
            rel = file.relative_to(source).as_posix()
            fs.put_file(str(file), f"{dest.path}/{rel}")  # one PUT per file: each object appears whole
            written.add(rel)
        prefix = dest.path.rstrip("/") + "/"
        for key in fs.find(dest.path):
            if key.startswith(prefix) and key[len(prefix) :] not in written:
                fs.rm_file(key)  # a file of an older materialization
        fs.invalidate_cache()

    def get(self, asset: str, partition: str) -> Path:
        """A local folder with the stored files: the stored folder itself, or a downloaded copy."""
        folder = self._root / asset / partition
        if not self.remote:
            if not folder.is_dir():
                raise FileNotFoundError(f"no {asset} artifacts for partition {partition} at {folder}")
            return folder
        keys = folder.fs.find(folder.path)
        if not keys:
            raise FileNotFoundError(f"no {asset} artifacts for partition {partition} at {self.location(asset, partition)}")
        local = Path(tempfile.mkdtemp(prefix=f"amzn-{asset}-{partition}-"))
        atexit.register(shutil.rmtree, local, True)
        prefix = folder.path.rstrip("/") + "/"
        for key in keys:
            target = local / key[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            folder.fs.get_file(key, str(target))
        return local

    def latest(self, asset: str) -> str | None:
        found = self.partitions(asset)
        return found[-1] if found else None


def s3_storage_options(s3: S3Resource | None) -> dict:
    """UPath/s3fs options from an S3Resource's explicit settings (unset ones: the AWS_* variables)."""
    options: dict = {}
    if s3 is None:
        return options
    if s3.endpoint_url:
        options["endpoint_url"] = s3.endpoint_url
    if s3.region_name:
        options["client_kwargs"] = {"region_name": s3.region_name}
    if s3.aws_access_key_id:
        options["key"] = s3.aws_access_key_id
        options["secret"] = s3.aws_secret_access_key
    return options


class PartitionedArtifactIOManager(IOManager):
    """Stores ArtifactDir outputs per partition; loads ArtifactDir inputs (a dict for several partitions)."""

    def __init__(self, store: ArtifactStore):
        self.store = store

    @staticmethod
    def _keys(context: OutputContext | InputContext) -> list[str]:
        return list(context.asset_partition_keys) if context.has_asset_partitions else ["all"]

    def handle_output(self, context: OutputContext, obj: ArtifactDir | dict[str, ArtifactDir] | None) -> None:
        if obj is None:
            return
        asset = context.asset_key.path[-1]
        keys = self._keys(context)
        if isinstance(obj, ArtifactDir):
            if len(keys) != 1:
                raise ValueError(f"{asset}: one artifact folder for {len(keys)} partitions; return a dict keyed by partition")
            obj = {keys[0]: obj}
        if set(obj) != set(keys):
            raise ValueError(f"{asset}: artifact folders for {sorted(obj)} but the run's partitions are {keys}")
        files = size = 0
        for key in keys:
            folder = obj[key].path
            listed = _files(Path(folder))
            files += len(listed)
            size += sum(p.stat().st_size for p in listed)
            self.store.put(asset, key, folder, move=obj[key].staged)
        context.add_output_metadata(
            {
                "artifact_path": MetadataValue.path(self.store.location(asset, keys[0])),
                "artifact_files": files,
                "artifact_bytes": size,
            }
        )

    def load_input(self, context: InputContext) -> ArtifactDir | dict[str, ArtifactDir]:
        asset = context.asset_key.path[-1]
        keys = self._keys(context)
        missing = [k for k in keys if not self.store.exists(asset, k)]
        if missing:
            # Not a transient fault: a Failure the steps' RetryPolicy does not retry (wiring/policies.py).
            raise Failure(
                f"{asset} has no materialization for partitions {missing[:5]}{' ...' if len(missing) > 5 else ''} "
                f"in {self.store.base}: materialize them first",
                allow_retries=False,
            )
        loaded = {k: ArtifactDir(self.store.get(asset, k)) for k in keys}
        return loaded[keys[0]] if len(keys) == 1 else loaded


class ArtifactIOManager(ConfigurableIOManagerFactory):
    """Model artifacts under base_path: a folder, or s3://bucket/prefix through the S3Resource's
    settings (unset ones come from the AWS_* variables, as in boto3)."""

    base_path: str
    s3: S3Resource | None = None

    def store(self) -> ArtifactStore:
        return ArtifactStore(self.base_path, s3_storage_options(self.s3) if self.base_path.startswith("s3://") else None)

    def create_io_manager(self, context) -> PartitionedArtifactIOManager:
        return PartitionedArtifactIOManager(self.store())


def artifact_io_manager_at(base: str) -> ArtifactIOManager:
    return ArtifactIOManager(base_path=base, s3=S3Resource() if base.startswith("s3://") else None)
