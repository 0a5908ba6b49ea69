"""What a hostile uploader can put in the upload area, built for real on disk or in S3.

Each maker puts one odd entry at uploaded/reviews/<category>/... and returns its upload path (what
the ledger names it). Outside the area, SECRET holds content that would land if it were ever read.
"""

from __future__ import annotations

import gzip
import os
import random
import socket
import stat
from pathlib import Path

import orjson

from amzn_assets_tests.conftest import review_json

CATEGORY = "toys"
SECRET_MARKER = "S3CR3T-OUTSIDE-THE-UPLOAD-AREA"


def review_line(**overrides) -> bytes:
    return orjson.dumps(review_json(**overrides)) + b"\n"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def secret_review() -> bytes:
    """A valid review that must never land: it lives outside the upload area."""
    return review_line(reviewerID=SECRET_MARKER, reviewText=SECRET_MARKER)


def text_like(size: int, seed: int = 0) -> str:
    """Text that compresses about as well as real text (~4x), not like a run of one byte."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(4000)]
    out, length = [], 0
    while length < size:
        word = rng.choice(words)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)[:size]


def zeros_bomb(inflated_mb: int) -> bytes:
    """A gzip of inflated_mb MiB of zeros: ~1,000x, members of 64 MiB concatenated (fast to build)."""
    member = gzip.compress(b"\0" * (64 << 20), compresslevel=9, mtime=0)
    return member * max(1, inflated_mb // 64)


def folder(root: Path, category: str = CATEGORY) -> Path:
    path = root / "uploaded" / "reviews" / category
    path.mkdir(parents=True, exist_ok=True)
    return path


def make_fifo(root: Path, outside: Path) -> str:
    os.mkfifo(folder(root) / "fifo.json.gz")
    return f"uploaded/reviews/{CATEGORY}/fifo.json.gz"


def make_symlink_to_file(root: Path, outside: Path) -> str:
    (folder(root) / "link.json.gz").symlink_to(outside / "secret.json")
    return f"uploaded/reviews/{CATEGORY}/link.json.gz"


def make_symlink_to_passwd_like(root: Path, outside: Path) -> str:
    (folder(root) / "passwd.json.gz").symlink_to(outside / "passwd")
    return f"uploaded/reviews/{CATEGORY}/passwd.json.gz"


def make_dangling_symlink(root: Path, outside: Path) -> str:
    (folder(root) / "dangling.json.gz").symlink_to(outside / "no-such-file")
    return f"uploaded/reviews/{CATEGORY}/dangling.json.gz"


def make_symlinked_category(root: Path, outside: Path) -> str:
    target = outside / "category"
    target.mkdir()
    (target / "r.json").write_bytes(secret_review())
    folder(root)  # the area's own folders exist
    (root / "uploaded" / "reviews" / "linked").symlink_to(target, target_is_directory=True)
    return "uploaded/reviews/linked"


def make_socket(root: Path, outside: Path) -> str:
    here = os.getcwd()
    os.chdir(folder(root))  # a socket's path is limited to 107 bytes: bind a relative name
    try:
        server = socket.socket(socket.AF_UNIX)
        server.bind("sock.json.gz")
        server.close()  # the socket file stays
    finally:
        os.chdir(here)
    return f"uploaded/reviews/{CATEGORY}/sock.json.gz"


def make_char_device(root: Path, outside: Path) -> str:
    os.mknod(folder(root) / "zero.json.gz", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # like /dev/zero
    return f"uploaded/reviews/{CATEGORY}/zero.json.gz"


def make_hard_link(root: Path, outside: Path) -> str:
    os.link(outside / "secret.json", folder(root) / "hard.json")
    return f"uploaded/reviews/{CATEGORY}/hard.json"


def make_bomb(root: Path, outside: Path) -> str:
    (folder(root) / "bomb.json.gz").write_bytes(zeros_bomb(1024))  # 1 GiB inflated from ~1 MB
    return f"uploaded/reviews/{CATEGORY}/bomb.json.gz"


def make_plain_bomb_lookalike(root: Path, outside: Path) -> str:
    """Text that compresses normally but inflates past the (lowered) inflated-size limit."""
    lines = [review_line(reviewText=text_like(50_000, seed)) for seed in range(60)]  # ~3 MB
    (folder(root) / "big.json.gz").write_bytes(gz(b"".join(lines)))
    return f"uploaded/reviews/{CATEGORY}/big.json.gz"


def make_oversized_file(root: Path, outside: Path) -> str:
    (folder(root) / "huge.json").write_bytes(review_line() + b" " * (3 << 20))  # 3 MiB stored
    return f"uploaded/reviews/{CATEGORY}/huge.json"


def make_long_line(root: Path, outside: Path) -> str:
    data = review_line(reviewerID="A2") + review_line(reviewText=text_like(300_000)) + review_line(reviewerID="A3")
    (folder(root) / "longline.json.gz").write_bytes(gz(data))
    return f"uploaded/reviews/{CATEGORY}/longline.json.gz"


def make_non_utf8_name(root: Path, outside: Path) -> str:
    name = os.fsencode(folder(root)) + b"/caf\xe9.json.gz"  # Latin-1, not UTF-8
    with open(name, "wb") as handle:
        handle.write(gz(review_line()))
    return f"uploaded/reviews/{CATEGORY}/caf\\xe9.json.gz"


def make_non_utf8_category(root: Path, outside: Path) -> str:
    path = os.fsencode(root / "uploaded" / "reviews") + b"/jouets-\xe9t\xe9"
    os.makedirs(path)
    with open(path + b"/r.json.gz", "wb") as handle:
        handle.write(gz(review_line()))
    return "uploaded/reviews/jouets-\\xe9t\\xe9"


def make_nested_folder(root: Path, outside: Path) -> str:
    nested = folder(root) / "2018"
    nested.mkdir()
    (nested / "r.json.gz").write_bytes(gz(review_line(reviewerID="NESTED")))
    return f"uploaded/reviews/{CATEGORY}/2018"


def make_file_outside_category(root: Path, outside: Path) -> str:
    folder(root)
    (root / "uploaded" / "reviews" / "loose.json.gz").write_bytes(gz(review_line(reviewerID="LOOSE")))
    return "uploaded/reviews/loose.json.gz"


def make_wrong_suffix(root: Path, outside: Path) -> str:
    (folder(root) / "notes.txt").write_bytes(b"not a review\n")
    return f"uploaded/reviews/{CATEGORY}/notes.txt"


def make_stale_truncated_gzip(root: Path, outside: Path) -> str:
    (folder(root) / "cut.json.gz").write_bytes(gz(review_line())[:-12])
    return f"uploaded/reviews/{CATEGORY}/cut.json.gz"
