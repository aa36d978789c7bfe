"""Writing output files safely: the one way symgrad puts a file on disk.

Each file is written to a NEW temporary file in the output folder (tempfile.mkstemp opens it with
O_CREAT | O_EXCL, so a planted symlink or file at any name is never opened or followed) and then
renamed onto the target with os.replace, which replaces a symlink at the target rather than
writing through it. A failure or a signal at any point removes the temporary file: the target is
either the old file or the complete new one, and nothing outside the output folder changes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from symgrad.errors import SymgradError


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; set straight back
    os.umask(mask)
    return mask


def write(path: Path, data: str | bytes) -> None:
    """Atomically write `data` (text as UTF-8) to `path`, creating its folder if needed."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A fixed prefix, not the target's name: a long name would overflow NAME_MAX.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".symgrad-", suffix=".partial")
    except OSError as error:
        raise SymgradError(f"{path}: cannot write here ({error.strerror or error})") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            # An ordinary file, not mkstemp's private 0600; fchmod acts on the file we opened, not
            # on whatever a name points to by now.
            os.fchmod(out.fileno(), 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise SymgradError(f"{path}: cannot write here ({error.strerror or error})") from None
        raise


def write_all(files: Mapping[Path, str | bytes]) -> None:
    """Write every file, after checking that none of their names is taken by a folder (which
    would stop the writing half-way, some files written and some not)."""
    for path in files:
        if path.is_dir() and not path.is_symlink():
            raise SymgradError(f"{path}: cannot write here (a folder has that name)")
    for path, data in files.items():
        write(path, data)


def check_folder(folder: Path, option: str = "-o") -> None:
    """Fail with one line, before any work and without creating anything, unless `folder` is a
    folder we can write in or one that can be created. (Tests run as root, where os.access says
    yes to everything, so the check really tries: an unnamed temporary file in the nearest
    existing folder.)"""
    existing = folder.absolute()
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise SymgradError(
            f"{folder}: {option}: expected a folder to write in; {existing} is not one")
    try:
        with tempfile.TemporaryFile(dir=existing):  # O_TMPFILE where possible: leaves no name
            pass
    except OSError as error:
        raise SymgradError(
            f"{folder}: {option}: expected a folder to write in; cannot write in {existing} "
            f"({error.strerror or error})"
        ) from None
