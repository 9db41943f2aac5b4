"""Finding, downloading and verifying dataset files.

Where a dataset's files are looked for, in order:
  1. `data_dir` when the loader is given one, else `$PERCEPTRON_LAB_DATA/<dataset>` when that
     variable is set;
  2. the cache, `$XDG_CACHE_HOME/perceptron_lab/<dataset>` (default `~/.cache/perceptron_lab/<dataset>`).
Files found nowhere are downloaded into the cache (unless download is off) from the dataset's
canonical address, or from `$PERCEPTRON_LAB_MIRROR/<dataset>/<file>` when that variable is set.

Every file is checked against its SHA-256 (after download and each time it is used). A download
goes to a temporary file in the destination folder and is renamed into place only when complete
and verified, so an interrupted or corrupt download never looks like a good file.
The library never prints: progress reaches an optional callback.
"""

from __future__ import annotations

import contextvars
import fcntl
import glob
import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from ..locking import is_locked

DATA_ENV = "PERCEPTRON_LAB_DATA"
MIRROR_ENV = "PERCEPTRON_LAB_MIRROR"
CHUNK = 1 << 20

Progress = Callable[[str, int, "int | None"], None]
"""progress(file_name, bytes_done, bytes_total or None), called as a download advances."""

_progress_hook: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "progress_hook", default=None
)


_downloads_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("downloads_allowed", default=True)


class DownloadNeeded(DataError):
    """Inside `no_downloads()`: files a run would download; `files` lists them, `target` is where."""

    def __init__(self, message: str, files: list[str], target: Path):
        super().__init__(message)
        self.files, self.target = files, target


@contextmanager
def no_downloads() -> Iterator[None]:
    """Within this block, loaders that miss files raise DownloadNeeded instead of downloading
    (files already present are still verified)."""
    token = _downloads_allowed.set(False)
    try:
        yield
    finally:
        _downloads_allowed.reset(token)


@contextmanager
def download_progress(callback: Progress | None) -> Iterator[None]:
    """Within this block, downloads started by loaders report to `callback` (e.g. a rich bar)."""
    token = _progress_hook.set(callback)
    try:
        yield
    finally:
        _progress_hook.reset(token)


@dataclass(frozen=True)
class RemoteFiles:
    """Where a dataset's files come from.

    name: the dataset's folder name in the cache and on a mirror.
    base_url: canonical address; a file's URL is base_url + file name.
    sha256: file name -> expected SHA-256 hex digest.
    """

    name: str
    base_url: str
    sha256: Mapping[str, str] = field(default_factory=dict)

    def url(self, file_name: str) -> str:
        mirror = os.environ.get(MIRROR_ENV)
        if mirror:
            return f"{mirror.rstrip('/')}/{self.name}/{file_name}"
        return self.base_url + file_name


def cache_dir(dataset: str | None = None) -> Path:
    """$XDG_CACHE_HOME/perceptron_lab[/dataset], default ~/.cache/perceptron_lab[/dataset]."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "perceptron_lab"
    return root / dataset if dataset else root


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, sha256: str | None) -> None:
    """Raise DataError naming `path` if its SHA-256 is not `sha256` (None: no check)."""
    if sha256 is None:
        return
    actual = sha256_of(path)
    if actual != sha256.lower():
        raise DataError(
            f"{path}: SHA-256 mismatch (expected {sha256}, got {actual}); if it is a broken download, "
            f"delete it to download it again; if it is your own file (a subset, a re-export), "
            f"skip the check with `sha256: {{{path.name}: null}}` in the dataset spec"
        )


def remove_stale_parts(dest: Path, min_age_s: float = 2.0) -> list[Path]:
    """Remove the `.part` files of `dest` that no download holds (left by a killed process).

    A .part is locked by its download from creation (see download); min_age_s spares one
    created an instant ago whose lock is not taken yet.
    """
    removed = []
    now = time.time()
    for part in dest.parent.glob(f".{glob.escape(dest.name)}.*.part"):
        try:
            old = now - part.stat().st_mtime >= min_age_s
        except FileNotFoundError:
            continue
        if old and part.is_file() and not part.is_symlink() and not is_locked(part):
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed


def download(
    url: str,
    dest: str | Path,
    sha256: str | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download `url` to `dest` atomically, verifying its size and SHA-256.

    The bytes go to a temporary file beside `dest`, renamed onto `dest` only when the download is
    complete and its digest matches `sha256` (None: no check). Raises DataError on any failure,
    leaving no partial file behind.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(dest)
        handle, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        fcntl.flock(handle, fcntl.LOCK_EX)  # held until closed: marks the .part as in progress
    except OSError as error:
        raise DataError(f"cannot write {dest} ({error.strerror or error})") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            actual = _stream(url, out, dest.name, progress, timeout)
        if sha256 is not None and actual != sha256.lower():
            raise DataError(f"{url}: SHA-256 mismatch (expected {sha256}, got {actual}); not saved")
        os.replace(temp, dest)
    except OSError as error:
        raise DataError(f"cannot write {dest} ({error.strerror or error})") from None
    finally:
        temp.unlink(missing_ok=True)
    return dest


def _stream(url: str, out, name: str, progress: Progress | None, timeout: float) -> str:
    """Copy the body at `url` into the open file `out`; returns its SHA-256 hex digest."""
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        if isinstance(error, urllib.error.HTTPError):
            reason: object = f"HTTP {error.code} {error.reason}"
        else:
            reason = getattr(error, "reason", None) or error
        raise DataError(f"cannot download {url} ({reason})") from None
    digest = hashlib.sha256()
    done = 0
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if progress:
            progress(name, done, total)
        while True:
            try:
                chunk = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as error:
                raise DataError(
                    f"cannot download {url}: connection lost after {done} bytes ({error})"
                ) from None
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(name, done, total)
    if total is not None and done != total:
        raise DataError(f"cannot download {url}: got {done} of {total} bytes (truncated)")
    return digest.hexdigest()


def search_dirs(dataset: str, data_dir: str | Path | None) -> list[Path]:
    """Folders a dataset's files are looked for in, in order (see the module docstring)."""
    shared = os.environ.get(DATA_ENV)
    if data_dir is not None:
        first = [Path(data_dir)]
    elif shared:
        first = [Path(shared) / dataset]
    else:
        first = []
    return first + [cache_dir(dataset)]


def fetch_files(
    source: RemoteFiles,
    file_names: list[str],
    data_dir: str | Path | None = None,
    download_missing: bool = True,
    sha256: Mapping[str, str | None] | None = None,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Local, verified paths of `file_names`, downloading the missing ones into the cache.

    sha256: per-file overrides of `source.sha256` (a None value skips that file's check).
    Raises DataError naming the files and where to put them when they can be neither found nor
    downloaded, or naming the file whose checksum does not match.
    """
    expected = {**source.sha256, **(sha256 or {})}
    dirs = search_dirs(source.name, data_dir)
    target = cache_dir(source.name)
    found: dict[str, Path] = {}
    for name in file_names:
        path = next((d / name for d in dirs if (d / name).is_file()), None)
        if path is not None:
            found[name] = path
    missing = [name for name in file_names if name not in found]
    if missing and not download_missing:
        raise DataError(
            f"{source.name}: missing {', '.join(missing)} (looked in {', '.join(map(str, dirs))}); "
            f"place them in {target} or in data_dir, or allow download"
        )
    for name, path in found.items():
        verify(path, expected.get(name))
    if missing and not _downloads_allowed.get():
        raise DownloadNeeded(
            f"{source.name}: a run would download {', '.join(missing)} from {source.url('')} into {target}",
            missing,
            target,
        )
    progress = progress or _progress_hook.get()
    for i, name in enumerate(missing):
        try:
            found[name] = download(source.url(name), target / name, expected.get(name), progress)
        except DataError as error:
            raise DataError(
                f"{source.name}: {error}. Download {', '.join(missing[i:])} from {source.url('')} and place "
                f"them in {target} (or in a folder given as data_dir or ${DATA_ENV}/{source.name})"
            ) from None
    return {name: found[name] for name in file_names}
