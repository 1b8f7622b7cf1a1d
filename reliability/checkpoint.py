"""Checkpoint files of Monte-Carlo runs: the accumulated state after the chunks combined so far.

A checkpoint is a NumPy ``.npz`` archive (never a pickle: it is read with ``allow_pickle=False``) holding the
accumulator arrays of the run, the number of chunks combined and one JSON text ``meta`` with the run's
identity: a SHA-256 fingerprint of every array the kernel simulates from (network, durations, options), the
root seed, the chunk size and stop rule. It is written atomically (:func:`gridscope.grid.io.atomic_write`),
so a kill at any moment leaves the previous checkpoint or the new one, never a torn file.

Chunks are combined in chunk order and chunk ``i`` always starts from the same random state, so a run resumed
from a checkpoint of its first ``n`` chunks adds exactly the chunks an uninterrupted run would add next and
ends with bit-identical numbers. A checkpoint of another run (another network, seed, options or chunk size)
is refused with an :class:`~gridscope.errors.InputError` naming what differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..grid.io import atomic_write

__all__ = [
    "CHECKPOINT_EVERY_S",
    "CHECKPOINT_FORMAT",
    "IDENTITY_KEYS",
    "fingerprint",
    "read_checkpoint",
    "write_checkpoint",
]

#: Format tag stored in every checkpoint (a file with another tag is refused).
CHECKPOINT_FORMAT = "gridscope-mc-checkpoint-1"
#: Default least time between two checkpoint writes during a run (s); the state at the end of the run
#: (finished, stopped by the stop rule or cancelled) is always written.
CHECKPOINT_EVERY_S = 2.0
#: Entries of the identity that must match for a resume, in the order they are reported.
IDENTITY_KEYS: tuple[str, ...] = ("fingerprint", "seed", "chunk_years", "limit", "target_cov", "cov_on",
                                  "options")
_META = "meta"


def fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 (hex) of named arrays: names, dtypes, shapes and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(a.dtype.str.encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def write_checkpoint(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray],
                     meta: Mapping[str, Any]) -> Path:
    """Write ``arrays`` and the JSON-able ``meta`` to ``path`` atomically (replacing an older checkpoint).

    Raises
    ------
    OutputError
        The file cannot be written (full disk, permission ...); the previous checkpoint is left as it was.
    """
    if _META in arrays:
        raise InputError(f"checkpoint array name {_META!r} is reserved")
    text = json.dumps({"format": CHECKPOINT_FORMAT, **meta}, sort_keys=True)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append .npz to a path
            np.savez(fh, **{_META: np.array(text)}, **{k: np.asarray(v) for k, v in arrays.items()})
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_write(path, write)


def read_checkpoint(path: str | os.PathLike[str],
                    expected: Mapping[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and meta of the checkpoint at ``path``.

    Parameters
    ----------
    path : path-like
        The checkpoint file.
    expected : mapping, optional
        The identity of the run that wants to resume (:data:`IDENTITY_KEYS`); any difference is refused.

    Raises
    ------
    InputError
        The file is not a readable gridscope checkpoint, or it belongs to another run (the message names
        every entry that differs, with both values).
    """
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{p} is not a readable gridscope Monte-Carlo checkpoint ({exc})") from None
    try:
        meta = json.loads(str(arrays.pop(_META)))
    except (KeyError, ValueError) as exc:
        raise InputError(f"{p} is not a gridscope Monte-Carlo checkpoint (no meta: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{p} is not a gridscope Monte-Carlo checkpoint of format {CHECKPOINT_FORMAT}")
    if expected is not None:
        # compare as JSON would store them (tuples become lists, ints stay ints)
        want = json.loads(json.dumps(dict(expected), sort_keys=True))
        diffs = [f"{k}: checkpoint {meta.get(k)!r}, this run {want.get(k)!r}"
                 for k in IDENTITY_KEYS if meta.get(k) != want.get(k)]
        if diffs:
            what = "network or durations" if diffs[0].startswith("fingerprint") else "options"
            raise InputError(f"checkpoint {p} belongs to another Monte-Carlo run ({what} differ); delete it or "
                             "give another checkpoint file:\n  " + "\n  ".join(diffs))
    return arrays, meta
