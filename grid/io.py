"""Loading and saving networks: built-in names, pandapower JSON/Excel files and SimBench codes."""

from __future__ import annotations

import contextlib
import copy
import errno
import gc
import hashlib
import hmac
import json
import os
import pickle
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from ..cells import is_risky
from ..errors import InputError, NetworkError, OutputError
from .builtin import add_head_breakers, builtin_key, make_builtin
from .defaults import ZONES, apply_reliability_data
from .facts import in_service
from .untrusted import check_excel_archive, check_excel_tables, check_input_size, check_json_tree
from .zones import assign_zones_by_density

__all__ = ["STALE_TEMP_H", "TEMP_PREFIX", "OutputError", "atomic_folder", "atomic_write", "atomic_write_many",
           "cache_dir", "current_umask", "folder_problems", "load_network", "netcdf_bytes", "network_hash",
           "os_error_reason", "prepare_simbench", "remove_stale_temps", "save_network", "write_netcdf"]


def load_network(source: Any, *, fill_defaults: bool = True) -> Any:
    """Load a network from a built-in name, a pandapower JSON or Excel file, or ``simbench:<code>``.

    Parameters
    ----------
    source : str, os.PathLike or pandapowerNet
        ``"rbts2"``, ``"rbts2-e"``, ``"mv_oberrhein"``, ``"cigre_mv"``, ``"case33bw"``; a path ending in
        ``.json`` or ``.xlsx``; ``"simbench:1-MV-urban--0-sw"``; or a pandapower net, returned as a copy.
    fill_defaults : bool
        Fill missing data-contract columns (reliability data, customers, average load) of a file or net from
        :func:`gridscope.grid.defaults.reliability_defaults`. Values present in the file are never changed.
        Built-in and SimBench networks come filled (once, when they are built).

    Returns
    -------
    pandapowerNet
        A new network object; the file or object given is never modified.

    Raises
    ------
    NetworkError
        The file is missing or unreadable, is not a pandapower network, or the name is unknown.
    """
    if hasattr(source, "bus") and hasattr(source, "line"):
        net = copy.deepcopy(source)
    else:
        text = os.fspath(source) if isinstance(source, os.PathLike) else source
        if not isinstance(text, str) or not text.strip():
            raise NetworkError(f"cannot load a network from {source!r}: give a built-in name, a path or "
                               "simbench:<code>")
        text = text.strip()
        lower = text.lower()
        if lower.startswith("simbench:"):
            return _load_simbench(text.split(":", 1)[1].strip())  # filled by prepare_simbench
        if not (lower.endswith((".json", ".xlsx", ".xls")) or os.sep in text or "/" in text):
            # a built-in is filled when built; an unknown name raises the error listing the built-ins
            return _load_builtin(builtin_key(text))
        net = _load_file(Path(text))
    if fill_defaults:
        apply_reliability_data(net)
    return net


def _load_file(path: Path) -> Any:
    import pandapower as pp  # deferred: heavy

    if not path.exists():
        raise NetworkError(f"network file not found: {path}")
    if not path.is_file():
        raise NetworkError(f"not a file: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".json", ".xlsx", ".xls"):
        raise NetworkError(f"unsupported network file type {path.suffix!r} ({path}): use .json or .xlsx")
    check_input_size(path)
    try:
        net = _read_json(path, pp) if suffix == ".json" else _read_excel(path, pp)
    except NetworkError:
        raise
    except Exception as exc:  # pandapower raises many kinds on corrupt input
        kind = "JSON" if suffix == ".json" else "Excel"
        raise NetworkError(f"{path} is not a readable pandapower {kind} network: "
                           f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    if not (hasattr(net, "bus") and hasattr(net, "line") and hasattr(net, "ext_grid")):
        raise NetworkError(f"{path} does not contain a pandapower network")
    if not len(net.bus):
        raise NetworkError(f"{path} is not a pandapower network: it has no buses")
    if not getattr(net, "name", None):
        net.name = path.stem
    return net


def _read_json(path: Path, pp: Any) -> Any:
    """Parse ``path`` as plain JSON, check every typed entry (:func:`check_json_tree`), then let pandapower decode
    the same text (not the file again, which could have changed)."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        tree = json.loads(text)
    except ValueError as exc:
        raise NetworkError(f"{path} is not a readable pandapower JSON network: {exc}") from None
    check_json_tree(tree)
    del tree
    return pp.from_json_string(text, convert=True)


def _read_excel(path: Path, pp: Any) -> Any:
    """Check the archive, read the sheets, check the cells pandapower decodes as JSON, then build the net."""
    from pandapower.io_utils import from_dict_of_dfs  # deferred: heavy

    if path.suffix.lower() == ".xlsx":
        check_excel_archive(path)
    tables = pd.read_excel(path, sheet_name=None, index_col=0, engine="openpyxl")
    check_excel_tables(tables, path)
    try:
        net = from_dict_of_dfs(tables)
    except Exception:  # pandapower's own fallback for old Excel layouts, which decode no JSON cells
        return pp.from_excel(str(path))
    pp.convert_format(net)
    return net


SIMBENCH_EXAMPLE = "1-MV-urban--0-sw"


def cache_dir() -> Path | None:
    """Where converted SimBench and built-in networks are cached, or ``None`` when caching is off.

    ``$GRIDSCOPE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/gridscope``, else ``~/.cache/gridscope``. Setting
    ``GRIDSCOPE_CACHE_DIR`` to an empty string or ``0``/``off`` turns the cache off.
    """
    env = os.environ.get("GRIDSCOPE_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "none", "false") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gridscope"


#: Bump when the SimBench conversion (:func:`prepare_simbench`) changes, so old cache entries are not used.
_CACHE_FORMAT = 3

#: The modules whose code decides what a built-in network holds: their source text keys the built-in cache.
_BUILTIN_SOURCES = ("builtin.py", "defaults.py", "facts.py", "topology.py", "zones.py")


#: Name of the per-user secret (in :func:`cache_dir`) that keys the cache entries' HMAC-SHA256.
_CACHE_KEY_FILE = "cache-key"
_MAC_BYTES = 32


def _cache_key(root: Path) -> bytes | None:
    """The per-user cache secret, created (mode 0600) on first use; None when it cannot be had safely.

    A key file that others can read or that belongs to someone else is replaced: whoever could read it could
    sign a planted pickle.
    """
    path = root / _CACHE_KEY_FILE
    try:
        root.mkdir(parents=True, exist_ok=True)
        try:
            st = path.lstat()
            if path.is_symlink() or st.st_uid != os.getuid() or st.st_mode & 0o077 or st.st_size != _MAC_BYTES:
                path.unlink()
        except FileNotFoundError:
            pass
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(_MAC_BYTES))
        return path.read_bytes()
    except OSError:
        return None


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def _read_cached(path: Path | None) -> Any | None:
    """The network cached at ``path`` by :func:`_write_cached`, or None (no cache, no entry, a bad entry).

    An entry is the HMAC-SHA256 of the pickle (keyed by :func:`_cache_key`) followed by the pickle; it is only
    unpickled when the MAC matches, so a planted or altered file is never run but rebuilt.
    """
    if path is None or not path.is_file():
        return None
    key = _cache_key(_cache_root(path))
    if key is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    mac, payload = data[:_MAC_BYTES], data[_MAC_BYTES:]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, _mac(key, payload)):
        return None
    try:
        net = pickle.loads(payload)  # signed by this user's key: written by _write_cached
    except Exception:  # signed but unreadable (e.g. a pickle of an older library): rebuild it
        return None
    return net if hasattr(net, "bus") else None


def _write_cached(path: Path | None, net: Any) -> None:
    """Pickle ``net`` to ``path`` with its MAC, atomically; a read-only cache is no reason to fail the load."""
    if path is None:
        return
    key = _cache_key(_cache_root(path))
    if key is None:
        return
    payload = pickle.dumps(net, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(_mac(key, payload) + payload))
    except (OSError, OutputError):
        pass


def _cache_root(entry: Path) -> Path:
    """The cache folder an entry ``<root>/<kind>/<version>/<name>.pkl`` lives in."""
    return entry.parents[2]


def _simbench_cache_path(code: str) -> Path | None:
    import pandapower as pp  # deferred: heavy
    import simbench as sb

    root = cache_dir()
    if root is None:
        return None
    version = f"simbench-{sb.__version__}_pandapower-{pp.__version__}_gridscope-{_CACHE_FORMAT}"
    return root / "simbench" / version / f"{code}.pkl"


def _builtin_cache_path(key: str) -> Path | None:
    import pandapower as pp  # deferred: heavy (unpickling a net imports it anyway)

    root = cache_dir()
    if root is None:
        return None
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in _BUILTIN_SOURCES:
        h.update((here / name).read_bytes())
    return root / "builtin" / f"pandapower-{pp.__version__}_grid-{h.hexdigest()[:16]}" / f"{key}.pkl"


def _load_builtin(key: str) -> Any:
    """A built-in network, cached on disk like SimBench networks (:func:`cache_dir`).

    Building takes 0.5-2 s (hundreds of pandapower ``create_*`` calls, or reading pandapower's JSON, plus the
    head breakers and zones); the cached copy unpickles in a few ms. Entries are keyed by the pandapower version
    and the source text of the modules that build the network, so an edited builder is never served stale.
    """
    path = _builtin_cache_path(key)
    net = _read_cached(path)
    if net is None:
        net = make_builtin(key)
        _write_cached(path, net)
    return net


def _load_simbench(code: str) -> Any:
    """A SimBench network, converted for gridscope (see :func:`prepare_simbench`), cached on disk.

    ``simbench.get_simbench_net`` builds the network from CSV files on every call (about 9 s for the 37k-bus
    complete data set on a 2-core machine). The converted network is pickled under :func:`cache_dir`
    (``simbench/<simbench, pandapower and cache-format versions>/<code>.pkl``): later loads take a fraction of
    a second. The cache only ever holds networks this function converted itself; delete the folder to clear it.
    """
    try:
        import simbench as sb  # deferred: optional and heavy
    except ImportError:
        raise NetworkError("simbench networks need the simbench package: pip install 'gridscope[simbench]'") \
            from None
    if not code:
        raise NetworkError(f"give a SimBench code, e.g. simbench:{SIMBENCH_EXAMPLE}")
    codes = sb.collect_all_simbench_codes()
    if code not in codes:
        raise NetworkError(f"unknown SimBench code {code!r}: see simbench.collect_all_simbench_codes() "
                           f"({len(codes)} codes, e.g. {SIMBENCH_EXAMPLE}, 1-complete_data-mixed-all-0-sw)")
    path = _simbench_cache_path(code)
    net = _read_cached(path)
    if net is not None:
        return net
    try:
        net = sb.get_simbench_net(code)
    except Exception as exc:
        raise NetworkError(f"cannot build SimBench network {code!r}: {type(exc).__name__}: {exc}") from None
    net.name = f"simbench:{code}"
    prepare_simbench(net)
    _write_cached(path, net)
    return net


def prepare_simbench(net: Any) -> Any:
    """Make a SimBench network ready for gridscope, in place (what ``simbench:<code>`` loading does).

    * SimBench data sets that combine voltage levels keep, for every subnet, an *equivalent* external grid
      standing for the neighbouring level (``ext_grid.subnet`` = ``"<own>_<other>_eq"``, e.g. an ext_grid
      "MV1.101 grid at LV1.101" at every MV/LV substation). Where that other level is itself part of the data
      set the equivalent is redundant and would feed each feeder from dozens of points: it is set out of
      service. Equivalents of levels not in the data set (the usual single-level codes) stay.
    * A breaker (CB) is added at the head of every feeder that has no breaker or fuse there (SimBench
      models most of them).
    * Supply zones from load density per feeder (:func:`gridscope.grid.zones.assign_zones_by_density`),
      unless the buses already have zones.
    * Reliability data from the defaults table by line type (SimBench types lines ``cs``/``ol``); one
      customer per load point.
    """
    eg = net.ext_grid
    if len(eg) and "subnet" in eg.columns and "subnet" in net.bus.columns:
        grids = set(net.bus["subnet"].dropna().astype(str).str.split("_").str[0])
        other = eg["subnet"].astype(str).str.extract(r"^(.+)_(.+)_eq$")[1]
        live = in_service(eg)
        redundant = other.isin(grids).to_numpy() & live
        # never switch off the last source
        if redundant.any() and (~redundant & live).any():
            net.ext_grid.loc[redundant, "in_service"] = False
    add_head_breakers(net, only_missing=True)
    if "zone" not in net.bus or not net.bus["zone"].isin(ZONES).any():
        try:
            assign_zones_by_density(net, per="feeder")
        except Exception:  # no coordinates: leave zones to the user
            pass
    apply_reliability_data(net)
    return net


def network_hash(net: Any) -> str:
    """A short content hash of the network's element tables (for result provenance).

    Stable through a save/load round trip (JSON or Excel): columns are hashed in name order, numbers as
    float64 rounded to 40 bits of mantissa (integers and floats alike), everything else as text with nulls as
    empty strings; the ``geo`` columns are left out.
    """
    h = hashlib.sha256()
    for table in ("bus", "line", "trafo", "trafo3w", "switch", "load", "sgen", "ext_grid", "reserved_capacity"):
        if table not in net or not isinstance(net[table], pd.DataFrame) or not len(net[table]):
            continue
        df = net[table]
        h.update(table.encode())
        h.update(np.asarray(df.index, dtype=np.int64).tobytes())
        for column in sorted(c for c in df.columns if c != "geo"):
            col = df[column]
            h.update(str(column).encode())
            if col.dtype.kind in "biuf":
                mantissa, exponent = np.frexp(col.to_numpy(dtype=np.float64))
                # keep 40 bits of mantissa (~12 significant digits): JSON's float text loses the last bits
                values = np.ldexp(np.round(mantissa * 2.0**40), exponent) + 0.0  # -0.0 -> 0.0
                values[np.isnan(values)] = np.nan  # one NaN bit pattern
                h.update(values.tobytes())
            else:
                h.update(pd.util.hash_array(_hash_text(col), categorize=False).tobytes())
    return h.hexdigest()[:16]


def _hash_text(col: pd.Series) -> np.ndarray:
    """A non-numeric column as the object array of text :func:`network_hash` hashes: nulls as ``""``, strings as
    they are, anything else as ``str(value)`` (vectorised: a per-value Python loop cost 0.3 s at 200k buses)."""
    values = col.to_numpy(dtype=object)
    nulls = pd.isna(values)
    if nulls.any():
        values = values.copy()
        values[nulls] = ""
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        values = values.astype(str).astype(object)
    return values


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows.

    Linux reports it in ``/proc/self/status``; elsewhere it is set and restored under a lock (no stdlib call
    reads it without setting it).

    Returns
    -------
    int
        The umask, e.g. ``0o022``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _file_mode(dest: Path) -> int:
    """Mode a plain ``open(dest, "w")`` would leave: the existing file's mode, else ``0o666 & ~umask``."""
    try:
        return stat.S_IMODE(dest.stat().st_mode)
    except OSError:
        return 0o666 & ~current_umask()


#: Prefix of every temporary file and folder gridscope writes beside a destination (then renames into place).
TEMP_PREFIX = ".gridscope-tmp-"
#: A temporary entry older than this (hours since its last change) was left by a killed process (``kill -9``,
#: power loss: no ``finally`` runs); the next write into the same folder removes it. Generous, so a slow write
#: of another process in the same folder is never touched.
STALE_TEMP_H = 24.0


_ERRNO_REASONS = {errno.ENOSPC: "no space left on the device", errno.EFBIG: "file too large (size limit reached)",
                  errno.EDQUOT: "disk quota exceeded", errno.EACCES: "permission denied",
                  errno.EPERM: "operation not permitted", errno.EROFS: "read-only file system",
                  errno.ENOENT: "no such folder (or the place cannot hold files)", errno.EIO: "input/output error",
                  errno.ENOTDIR: "a part of the path is a file, not a folder", errno.EISDIR: "it is a folder",
                  errno.ENAMETOOLONG: "file name too long", errno.EXDEV: "temporary file on another device"}


def os_error_reason(exc: OSError) -> str:
    """A short, plain reason for an ``OSError`` of a write (``"no space left on the device"``)."""
    return _ERRNO_REASONS.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def _output_error(dest: Path, exc: OSError | OutputError, what: str = "") -> OutputError:
    reason = exc.reason if isinstance(exc, OutputError) else os_error_reason(exc)
    kept = " (the existing one is unchanged)" if dest.exists() else ""
    return OutputError(f"cannot write {what}{dest}: {reason}; nothing was written{kept}", reason=reason)


def remove_stale_temps(folder: str | os.PathLike[str], *, older_than_h: float = STALE_TEMP_H) -> list[Path]:
    """Remove this user's :data:`TEMP_PREFIX` files and folders in ``folder`` unchanged for ``older_than_h`` hours.

    They are what a killed write leaves (a normal failure removes its own). Errors are ignored: cleaning is a
    courtesy, never a reason for a write to fail.

    Returns
    -------
    list of Path
        What was removed.
    """
    removed: list[Path] = []
    limit = time.time() - older_than_h * 3600.0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if st.st_mtime > limit or (uid is not None and st.st_uid != uid):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def atomic_write(path: str | os.PathLike[str], write: Any, *, overwrite: bool = True) -> Path:
    """Write a file atomically: ``write(tmp_path)`` writes a temporary file beside ``path``, then it is renamed.

    The file gets the permissions a plain ``open()`` gives: ``0o666 & ~umask`` for a new file, the old
    file's mode when one is replaced. Any failure (an exception of ``write``, a full disk, a size limit, an
    unwritable place) removes the temporary file and leaves ``path`` as it was. Only ``kill -9`` during the
    write can leave the temporary file (``.gridscope-tmp-<name>.<random><suffix>``); the next write into the
    folder removes such files once they are :data:`STALE_TEMP_H` hours old (:func:`remove_stale_temps`).

    Parameters
    ----------
    path : path-like
        Destination.
    write : callable
        Called with the temporary path (a ``str``) to write the content.
    overwrite : bool
        Replace an existing file; when False an existing file raises :class:`~gridscope.errors.InputError`,
        also one that appears while ``write`` runs (the file is linked into place, which never replaces).

    Returns
    -------
    pathlib.Path
        The destination path.

    Raises
    ------
    InputError
        ``path`` exists and ``overwrite`` is False.
    OutputError
        The file cannot be written (the ``OSError`` reason in one line: full disk, size limit, permission ...).
    """
    return atomic_write_many({path: write}, overwrite=overwrite)[0]


def atomic_write_many(writes: Mapping[str | os.PathLike[str], Any], *, overwrite: bool = True) -> list[Path]:
    """Write several files all or nothing, each like :func:`atomic_write`: every temporary file is written
    first, the renames come last.

    A failure while writing (full disk, size limit, an exception of a writer) removes every temporary file and
    leaves every destination as it was. Only a rename that fails after the others succeeded (with
    ``overwrite=False``, a destination that appeared meanwhile) leaves the files renamed before it.

    Parameters
    ----------
    writes : mapping
        Destination path -> callable writing the content to the temporary path it is given (a ``str``).
    overwrite : bool
        Replace existing files; when False any existing destination raises
        :class:`~gridscope.errors.InputError` before anything is written.

    Returns
    -------
    list of pathlib.Path
        The destinations, in the order given.

    Raises
    ------
    InputError
        A destination exists and ``overwrite`` is False (all of them are named).
    OutputError
        A file cannot be written (the ``OSError`` reason in one line: full disk, size limit, permission ...).
    """
    items = [(Path(p), w) for p, w in writes.items()]
    existing = [str(d) for d, _ in items if d.exists()]
    if existing and not overwrite:
        raise InputError("; ".join(f"{p} exists" for p in existing) + "; pass overwrite=True (CLI: --force) to "
                         f"replace {'it' if len(existing) == 1 else 'them'}")
    for dest, _ in items:
        if dest.is_dir():
            raise OutputError(f"cannot write {dest}: it is a folder", reason="it is a folder")
    temps: list[str] = []
    failure: OutputError | None = None
    hook = sys.unraisablehook
    cleaned: set[Path] = set()
    current = items[0][0] if items else Path()
    try:
        for dest, write in items:
            current = dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.parent not in cleaned:
                remove_stale_temps(dest.parent)
                cleaned.add(dest.parent)
            mode = _file_mode(dest)
            fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{dest.name}.", suffix=dest.suffix or ".tmp",
                                       dir=dest.parent)
            os.close(fd)
            temps.append(tmp)
            write(tmp)
            # mkstemp makes 0600 whatever the umask; chmod after write() because a writer may recreate the file
            os.chmod(tmp, mode)
        for (dest, _), tmp in zip(items, temps, strict=True):
            current = dest
            if overwrite:
                os.replace(tmp, dest)
            else:
                _link_new(tmp, dest)
    except BaseException as exc:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        io_error = _as_os_error(exc)
        if io_error is None:
            raise
        failure = _output_error(current, io_error)
        del io_error  # holds the traceback, and through it the writer's frames
        # leaving this block frees the writer's frames; a half-written file object they hold (openpyxl's
        # ZipFile) fails again when it is closed in __del__ -- Python would print that as a traceback
        sys.unraisablehook = _quiet_io_errors(hook)
    if failure is not None:
        _raise_collected(failure, hook)
    return [dest for dest, _ in items]


def _raise_collected(failure: OutputError, hook: Any) -> NoReturn:
    """Free the failed writer's frames (their file objects fail again on close: muted by the quiet hook the
    caller installed), put ``hook`` back and raise ``failure``."""
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook
    raise failure


def _as_os_error(exc: BaseException) -> OSError | None:
    """``exc`` as the ``OSError`` of a failed write, or None when it is not one.

    lxml (openpyxl's fast writer) reports a failed write as ``SerialisationError("IO_EFBIG")``.
    """
    if isinstance(exc, OSError):
        return exc
    text = str(exc)
    if type(exc).__name__ == "SerialisationError" and text.startswith("IO_"):
        code = getattr(errno, text[3:].split()[0], None)
        if isinstance(code, int):
            return OSError(code, os.strerror(code))
    return None


#: What a writer's half-written stream raises again when it is closed after a failed write: lxml's incremental
#: writer (openpyxl's write-only sheets) ends its open elements on a file that already failed.
_CLOSE_AFTER_FAILURE_ERRORS = frozenset({"LxmlSyntaxError"})


def _quiet_io_errors(hook: Any) -> Any:
    def quiet(unraisable: Any) -> None:
        exc = unraisable.exc_value
        if _as_os_error(exc) is None and type(exc).__name__ not in _CLOSE_AFTER_FAILURE_ERRORS:
            hook(unraisable)

    return quiet


def _link_new(tmp: str, dest: Path) -> None:
    """Put ``tmp`` at ``dest`` only if ``dest`` does not exist (``link`` never replaces), then drop ``tmp``."""
    try:
        os.link(tmp, dest)
    except FileExistsError:
        raise InputError(f"{dest} exists; pass overwrite=True (CLI: --force) to replace it") from None
    except OSError:  # no hard links on this file system: the plain rename, after one more check
        if dest.exists():
            raise InputError(f"{dest} exists; pass overwrite=True (CLI: --force) to replace it") from None
        os.replace(tmp, dest)
        return
    os.unlink(tmp)


def _is_empty_dir(path: Path) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except OSError:
        return False


def folder_problems(folder: str | os.PathLike[str], *, force: bool = False) -> list[str]:
    """What stops :func:`atomic_folder` from writing ``folder`` (``[]`` when fine); check before long work.

    An existing folder is refused unless it is empty or ``force`` is given; with ``force`` the current folder,
    the home folder, the file-system root and folders holding the current folder are still refused (replacing
    the folder deletes what it held).
    """
    dest = Path(folder)
    if dest.exists() and not dest.is_dir():
        return [f"{dest} is a file, not a folder"]
    if dest.is_dir() and not _is_empty_dir(dest):
        if not force:
            return [f"{dest} exists and is not empty; pass --force to replace it (it is replaced only once the "
                    "new results are complete)"]
        resolved = dest.resolve()
        cwd = Path.cwd().resolve()
        if resolved == Path(resolved.anchor) or resolved == Path.home().resolve() or cwd.is_relative_to(resolved):
            return [f"{dest} is the current, home or root folder (or holds the current folder): --force would "
                    "delete what it holds; give a folder of its own"]
    parent = dest.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return [f"{parent} is a file, not a folder"]
    if not os.access(parent, os.W_OK | os.X_OK):
        return [f"cannot write into {parent} (permission denied)"]
    return []


def atomic_folder(folder: str | os.PathLike[str], fill: Any, *, force: bool = False) -> Path:
    """Create ``folder`` as a whole or not at all: ``fill(tmp)`` writes into a temporary sibling folder, which is
    renamed into place only when ``fill`` returned.

    An existing empty folder is replaced; an existing non-empty one only with ``force``, and only after the new
    one is complete (the old one is then deleted). On any failure the temporary folder is removed and the
    destination is unchanged. The folder gets the mode a plain ``mkdir`` gives (``0o777 & ~umask``).

    Parameters
    ----------
    folder : path-like
        Destination folder.
    fill : callable
        Called with the temporary folder (a :class:`pathlib.Path`) to write every file into.
    force : bool
        Replace a non-empty existing folder.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputError
        A problem of :func:`folder_problems`, or writing failed (the ``OSError`` reason in one line).
    """
    dest = Path(folder)
    problems = folder_problems(dest, force=force)
    if problems:
        raise OutputError(problems[0])
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(dest.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{dest.name}.", dir=dest.parent))
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700: colleagues could not open the folder
    except OSError as exc:
        raise _output_error(dest, exc, "the results folder ") from None
    old: Path | None = None
    failure: OutputError | None = None
    hook = sys.unraisablehook
    try:
        fill(tmp)
        if dest.is_dir() and not _is_empty_dir(dest):
            old = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{dest.name}.old-", dir=dest.parent))
            os.replace(dest, old / dest.name)
        os.replace(tmp, dest)  # replaces an empty folder (rename(2))
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and (old / dest.name).exists() and not dest.exists():
            os.replace(old / dest.name, dest)  # put the old folder back
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        cause = exc if isinstance(exc, OutputError) else _as_os_error(exc)
        if cause is None:
            raise
        failure = _output_error(dest, cause, "the results folder ")  # also a file inside: name the folder
        del cause
        sys.unraisablehook = _quiet_io_errors(hook)  # see atomic_write
    if failure is not None:
        _raise_collected(failure, hook)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dest


def _has_formula_text(table: pd.DataFrame) -> bool:
    """True when some text of ``table`` (cells, index, header) would become an openpyxl formula or error cell, or
    could be taken for a formula in a spreadsheet (:func:`gridscope.cells.is_risky`)."""
    from openpyxl.cell.cell import ERROR_CODES  # deferred: only the Excel output needs it

    def risky(values: Any) -> bool:
        return any(isinstance(v, str) and (is_risky(v) or v in ERROR_CODES) for v in values)

    frames = [table.index, table.columns]
    frames += [table[c] for c in table.columns if table[c].dtype == object]
    return any(risky(pd.Index(f).get_level_values(i) if isinstance(f, pd.MultiIndex) else f)
               for f in frames for i in range(getattr(f, "nlevels", 1)))


def _cells_as_text(ws: Any) -> int:
    """Turn the formula (``=…``) and error-code (``#N/A``) cells openpyxl inferred from text back into text cells,
    and give them and other formula-like text (``+…``, ``-…``, ``@…``) Excel's ``quotePrefix`` (shown and edited
    as text, never evaluated); returns how many cells were marked."""
    n = 0
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and (cell.data_type in ("f", "e") or is_risky(cell.value)):
                cell.data_type = "s"
                cell.quotePrefix = True
                n += 1
    return n


def _to_excel(net: Any, path: str) -> None:
    """``pandapower.to_excel`` without its xlsxwriter requirement: the same sheets, written with openpyxl.

    Element names and other text that starts with ``=`` are stored as text cells, not formulas (openpyxl makes
    a formula of any such ``str``), so a crafted name never runs in a spreadsheet and reads back unchanged.
    """
    from pandapower.io_utils import to_dict_of_dfs  # deferred: heavy

    tables = to_dict_of_dfs(net, include_results=True, include_empty_tables=False)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for item, table in tables.items():
            table.to_excel(writer, sheet_name=item)
            if _has_formula_text(table):
                _cells_as_text(writer.sheets[item])


def save_network(net: Any, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
    """Save ``net`` as pandapower JSON (``.json``) or Excel (``.xlsx``), atomically.

    The data-contract columns and the ``reserved_capacity`` table are kept (pandapower stores every column
    and every DataFrame item of the net).

    Parameters
    ----------
    net : pandapowerNet
    path : path-like
        Destination ending in ``.json`` or ``.xlsx``.
    overwrite : bool
        Replace an existing file (default); when False an existing file is an error.

    Returns
    -------
    pathlib.Path
    """
    import pandapower as pp  # deferred: heavy

    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return atomic_write(path, lambda tmp: pp.to_json(net, tmp), overwrite=overwrite)
    if suffix == ".xlsx":
        return atomic_write(path, lambda tmp: _to_excel(net, tmp), overwrite=overwrite)
    raise InputError(f"cannot save a network as {suffix or 'a file without suffix'!r}: use .json or .xlsx")


# ----------------------------------------------------------------------------------------------- NetCDF
def netcdf_bytes(ds: Any) -> Any:
    """``ds`` serialised as a NetCDF-4 file (h5netcdf engine) in memory: a bytes-like object.

    Boolean and object attrs are stored as strings, so the file reads back with :func:`read_netcdf`.
    """
    out = ds.copy()
    out.attrs = {k: (v if isinstance(v, int | float | str) and not isinstance(v, bool) else str(v))
                 for k, v in ds.attrs.items()}
    with _local_scheduler():
        return out.to_netcdf(engine="h5netcdf")


def write_netcdf(ds: Any, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write a results dataset to NetCDF atomically; the one NetCDF writer of gridscope.

    The file is built in memory first (:func:`netcdf_bytes`) and then written with plain Python file I/O
    through :func:`gridscope.grid.io.atomic_write`. HDF5 writing straight to a file crashes the interpreter
    (segmentation fault) when a write fails half way (full disk, ``ulimit -f``) and its handles are closed;
    written this way a failure is an ordinary :class:`~gridscope.grid.io.OutputError` and the temporary file
    is removed. The temporary file exists only while the bytes are copied out (well under a second for tens
    of MB), so a ``kill -9`` rarely leaves one, and a left one is removed by a later write into the folder.

    Parameters
    ----------
    ds : xarray.Dataset
    path : path-like
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        ``path`` exists and ``overwrite`` is False.
    OutputError
        The file cannot be written (full disk, size limit, permission, read-only place).
    """
    data = netcdf_bytes(ds)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return atomic_write(path, write, overwrite=overwrite)


def _local_scheduler() -> Any:
    """While a Dask client is the default, xarray takes a cluster-wide lock named after the in-memory target,
    which the scheduler cannot know; our data are in memory, so the synchronous scheduler is right."""
    try:
        import dask.config  # deferred: dask is optional
    except ImportError:
        return contextlib.nullcontext()
    return dask.config.set(scheduler="synchronous")
