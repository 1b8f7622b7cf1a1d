"""Loading and saving networks: built-in names, pandapower JSON/Excel files and SimBench codes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import NetworkError

__all__ = ["atomic_write", "load_network", "network_hash", "save_network"]


def load_network(source: Any, *, fill_defaults: bool = True) -> Any:
    """Load a network from a built-in name, a pandapower JSON or Excel file, or ``simbench:<code>``.

    Parameters
    ----------
    source : str, os.PathLike or pandapowerNet
        ``"rbts2"``, ``"rbts2-e"``, ``"mv_oberrhein"``, ``"cigre_mv"``, ``"case33bw"``; a path ending in
        ``.json`` or ``.xlsx``; ``"simbench:1-MV-urban--0-sw"``; or a pandapower net, returned as a copy.
    fill_defaults : bool
        Fill missing data-contract columns (reliability data, customers, average load) from
        :func:`gridscope.grid.defaults.reliability_defaults`. Values present in the file are never changed.

    Returns
    -------
    pandapowerNet
        A new network object; the file or object given is never modified.

    Raises
    ------
    NetworkError
        The file is missing or unreadable, is not a pandapower network, or the name is unknown.
    """
    from .builtin import BUILTIN, make_builtin
    from .defaults import apply_reliability_data

    if hasattr(source, "bus") and hasattr(source, "line"):
        import copy

        net = copy.deepcopy(source)
    else:
        text = os.fspath(source) if isinstance(source, os.PathLike) else source
        if not isinstance(text, str) or not text.strip():
            raise NetworkError(f"cannot load a network from {source!r}: give a built-in name, a path or "
                               "simbench:<code>")
        text = text.strip()
        lower = text.lower()
        if lower.startswith("simbench:"):
            net = _load_simbench(text.split(":", 1)[1].strip())
        elif lower.endswith((".json", ".xlsx", ".xls")) or os.sep in text or "/" in text:
            net = _load_file(Path(text))
        elif text in BUILTIN or lower.replace("_", "-") in BUILTIN:
            net = make_builtin(text)
        else:
            make_builtin(text)  # raises the "unknown built-in network" error with the list of names
            raise AssertionError("unreachable")
    if fill_defaults:
        apply_reliability_data(net)
    return net


def _load_file(path: Path) -> Any:
    import pandapower as pp

    if not path.exists():
        raise NetworkError(f"network file not found: {path}")
    if not path.is_file():
        raise NetworkError(f"not a file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            net = pp.from_json(str(path))
        elif suffix in (".xlsx", ".xls"):
            net = pp.from_excel(str(path))
        else:
            raise NetworkError(f"unsupported network file type {path.suffix!r} ({path}): use .json or .xlsx")
    except NetworkError:
        raise
    except Exception as exc:  # pandapower raises many kinds on corrupt input
        kind = "JSON" if suffix == ".json" else "Excel"
        raise NetworkError(f"{path} is not a readable pandapower {kind} network: "
                           f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    if not (hasattr(net, "bus") and hasattr(net, "line") and hasattr(net, "ext_grid")):
        raise NetworkError(f"{path} does not contain a pandapower network")
    if not getattr(net, "name", None):
        net.name = path.stem
    return net


def _load_simbench(code: str) -> Any:
    try:
        import simbench as sb
    except ImportError:
        raise NetworkError("simbench networks need the simbench package: pip install 'gridscope[simbench]'") \
            from None
    if not code:
        raise NetworkError("give a SimBench code, e.g. simbench:1-MV-urban--0-sw")
    try:
        net = sb.get_simbench_net(code)
    except Exception as exc:
        raise NetworkError(f"unknown or unreadable SimBench code {code!r}: {exc}") from None
    net.name = f"simbench:{code}"
    return net


def network_hash(net: Any) -> str:
    """A short content hash of the network's element tables (for result provenance)."""
    h = hashlib.sha256()
    for table in ("bus", "line", "trafo", "trafo3w", "switch", "load", "sgen", "ext_grid"):
        if table in net and len(net[table]):
            df = net[table]
            h.update(table.encode())
            h.update(df.drop(columns=[c for c in ("geo",) if c in df.columns]).to_csv().encode())
    return h.hexdigest()[:16]


def atomic_write(path: str | os.PathLike[str], write: Any, *, overwrite: bool = True) -> Path:
    """Write a file atomically: ``write(tmp_path)`` writes a temporary file beside ``path``, then it is renamed.

    Parameters
    ----------
    path : path-like
        Destination.
    write : callable
        Called with the temporary path (a ``str``) to write the content.
    overwrite : bool
        Replace an existing file; when False an existing file raises :class:`~gridscope.errors.InputError`.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    from ..errors import InputError

    dest = Path(path)
    if dest.exists() and not overwrite:
        raise InputError(f"{dest} exists; pass overwrite=True (CLI: --force) to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=dest.suffix or ".tmp", dir=dest.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return dest


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
    import pandapower as pp

    from ..errors import InputError

    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return atomic_write(path, lambda tmp: pp.to_json(net, tmp), overwrite=overwrite)
    if suffix == ".xlsx":
        return atomic_write(path, lambda tmp: pp.to_excel(net, tmp), overwrite=overwrite)
    raise InputError(f"cannot save a network as {suffix or 'a file without suffix'!r}: use .json or .xlsx")
