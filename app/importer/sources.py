"""Which files an import reads, and the names its reports give them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# File systems allow 255 bytes a name; a report or a run listing needs far fewer.
MAX_NAME_BYTES = 120
MAX_SUFFIX_BYTES = 16
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


@dataclass(frozen=True)
class SourceFile:
    """A file to import and the name reports give it."""

    path: Path
    name: str


def _cut_utf8(text: str, limit: int) -> str:
    """The longest start of `text` holding at most `limit` bytes of UTF-8 (whole characters)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def safe_file_name(filename: str | None, default: str = "upload.csv") -> str:
    """A client's file name made safe to create on disk and to show.

    Only the base name is kept, odd characters become `_`, and the name is cut to at most
    MAX_NAME_BYTES of valid UTF-8, keeping its extension.
    """
    base = unicodedata.normalize("NFC", Path(filename or "").name)
    name = _UNSAFE_NAME.sub("_", base).strip(" .")
    suffix = Path(name).suffix
    if len(suffix.encode("utf-8")) > MAX_SUFFIX_BYTES:
        suffix = ""
    stem = _cut_utf8(name.removesuffix(suffix), MAX_NAME_BYTES - len(suffix.encode("utf-8")))
    stem = stem.strip(" .")
    return f"{stem}{suffix}" if stem else default


def _is_candidate(path: Path) -> bool:
    """A CSV file that is not hidden nor an office suite's lock file."""
    return path.suffix.lower() == ".csv" and not path.name.startswith((".", "~$"))


def source_files(paths: Iterable[Path]) -> list[SourceFile]:
    """The files named, and every *.csv below the directories named, in a stable order."""
    found: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            below = sorted(p for p in path.rglob("*") if p.is_file() and _is_candidate(p))
            found.extend(SourceFile(p, p.relative_to(path.parent).as_posix()) for p in below)
        else:
            found.append(SourceFile(path, path.name))
    return found


def estimate_rows(files: Sequence[SourceFile]) -> int:
    """About how many data rows the files hold (line count minus headers)."""
    total = 0
    for source in files:
        try:
            total += max(0, source.path.read_bytes().count(b"\n") - 1)
        except OSError:
            continue
    return total
