"""The S3 upload area: an S3 prefix laid out like a data directory (landing/stores.py has the
SourceStore contract and the local store)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import BinaryIO

from amzn_assets.landing.store_types import Entry, Found, ReadOutcome, Refused

S3_DELETE_KEYS = 1_000  # DeleteObjects takes at most 1,000 keys a request


class S3Store:
    """An S3 prefix (s3://bucket/prefix) holding uploaded/, raw/ and quarantine/ like a data dir.

    A move is a server-side copy then a delete, so an object is always in at least one place; a
    crash between the two leaves a copy in the upload area, which the ledger recognises.
    """

    def __init__(self, url: str, client):
        if not url.startswith("s3://"):
            raise ValueError(f"not an S3 URL: {url!r}")
        bucket, _, prefix = url[len("s3://") :].partition("/")
        self.url = url.rstrip("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def _key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def listing(self, folder: str) -> list[Entry]:
        base = self._key(folder).rstrip("/") + "/"
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(base) :].rstrip("/")
                # "a//b" lists a folder named "", "a/../b" one named "..": keys no file system has
                odd = name in ("", ".", "..")
                found.append(Entry(name, (f"a key with a {name!r} segment" if name else "a key with an empty segment") if odd else "folder"))
            for obj in page.get("Contents", []):
                name = obj["Key"][len(base) :]
                if name:  # "" is the folder's own marker object (what S3 consoles make for a folder)
                    found.append(Entry(name, "file", obj["Size"], int(obj["LastModified"].timestamp() * 1e9)))
        return found

    def read(self, path: str) -> tuple[bytes, int] | None:
        found = self._get(path, 1 << 62)
        return None if found is None else (found.data, found.mtime_ns)

    def read_many(self, paths: Sequence[str], max_bytes: int = 1 << 62) -> list[ReadOutcome]:
        return [self._get(p, max_bytes) for p in paths]

    def _get(self, path: str, max_bytes: int) -> Found | Refused | None:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._key(path))
        except self.client.exceptions.NoSuchKey:
            return None
        mtime_ns = int(reply["LastModified"].timestamp() * 1e9)
        size = reply["ContentLength"]
        if size > max_bytes:  # replaced by a bigger object since the listing: not read
            reply["Body"].close()
            return Refused(f"{size:,} bytes, over the limit of {max_bytes:,} per file; not read", size, mtime_ns)
        return Found(reply["Body"].read(), mtime_ns, mtime_ns)

    def exists(self, path: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(path))
            return True
        except ClientError:
            return False

    def move(self, source: str, dest: str) -> None:
        self.client.copy_object(
            Bucket=self.bucket, Key=self._key(dest), CopySource={"Bucket": self.bucket, "Key": self._key(source)}
        )
        self.client.delete_object(Bucket=self.bucket, Key=self._key(source))

    def move_many(self, moves: Sequence[tuple[str, str]]) -> None:
        for source, dest in moves:
            self.move(source, dest)

    def put(self, path: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(path), Body=data)  # whole or absent

    def delete_many(self, paths: Sequence[str]) -> None:
        for start in range(0, len(paths), S3_DELETE_KEYS):
            reply = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self._key(p)} for p in paths[start : start + S3_DELETE_KEYS]], "Quiet": True},
            )
            errors = [e for e in reply.get("Errors", []) if e.get("Code") != "NoSuchKey"]
            if errors:
                raise OSError(f"S3 refused to delete {len(errors)} objects, e.g. {errors[0].get('Key')}: {errors[0].get('Message')}")

    def open(self, path: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        key = self._key(path)
        try:
            size = self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as exc:
            raise FileNotFoundError(f"{self.url}/{path}") from exc
        return io.BufferedReader(_S3Range(self.client, self.bucket, key, size), buffer_size=256 * 1024)


class _S3Range(io.RawIOBase):
    """An S3 object read by ranged GETs: zipfile finds one member of a bundle without the rest."""

    def __init__(self, client, bucket: str, key: str, size: int):
        self.client, self.bucket, self.key, self.size, self.pos = client, bucket, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:
        if self.pos >= self.size or not len(buffer):
            return 0
        end = min(self.pos + len(buffer), self.size) - 1
        data = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.pos}-{end}")["Body"].read()
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)
