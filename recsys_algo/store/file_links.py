"""How the file store never follows a symbolic link below its root, wherever it points.

One out of the root would read or write elsewhere; one inside it would let a landing folder
read another scope's files. The root itself may be a link: that is where the operator keeps
the data."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from recsys_algo.contracts.errors import LinkRefused, NotFoundError


def checked_path(root: Path, key: str, uri: str, last_may_link: bool = False) -> Path:
    """root/key; LinkRefused when a part of it below root is a symbolic link (the last part
    too unless last_may_link). Parts that do not exist yet cannot be links."""
    path = root
    parts = key.split("/")
    for part in parts[:-1] if last_may_link else parts:
        path /= part
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            break
        if stat.S_ISLNK(mode):
            raise LinkRefused(
                f"{uri}: {path.relative_to(root).as_posix()} is a symbolic link, and links "
                "below the storage root are never followed; replace it with the real file or folder"
            )
    return root / key


def open_regular(path: Path, uri: str) -> BinaryIO:
    """The regular file at path, opened for reading; never through a link at its last part,
    even one made after checked_path looked (O_NOFOLLOW). A folder or nothing: NotFoundError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LinkRefused(f"{uri} is a symbolic link; not followed") from None
        if isinstance(exc, FileNotFoundError | NotADirectoryError):
            raise NotFoundError(f"{uri} does not exist") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)  # keys name files; folders are implicit
        raise NotFoundError(f"{uri} does not exist")
    return os.fdopen(fd, "rb")
