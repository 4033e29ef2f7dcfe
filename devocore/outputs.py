"""Outputs never replace what the user had: one check for every command's output options.

The CLI calls :func:`check` before a command runs and :func:`record` after it succeeded. The rule:

* an output (``--out``, ``--overlay``, ``--snapshot``, ``--plot``, ``--plot-dir``, ``--grid``, ``--gif``,
  ``--real-grid``, ``--figures``, ``--examples``) must not be an input
  (same resolved path, or the same file through a hard link), must not lie inside an input folder, and
  an output folder must not hold an input; this holds even with ``--overwrite``;
* an existing file is replaced only when devocore wrote it with the same command and option and it has not
  changed since (recorded in ``outputs.jsonl`` in :func:`devocore.config.state_dir`), or with ``--overwrite``;
* an existing results folder is used only when every file in it was written by devocore and has not changed
  since (any command), or with ``--overwrite``: the command writes its own file names into it, and one of
  them could be a file of yours;
* what a command wrote is recorded even when it fails, so a rerun (or a resumed batch) needs no flag;
* devices and other non-regular files (``/dev/null``) are refused;
* a missing folder above an output is created (and removed again when the command fails).

Every other argument whose value names an existing file or folder counts as an input, except model
names and folders the command updates on purpose (:data:`NOT_INPUTS`).

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "s.csv").write_text("t,v\\n")
    4
    >>> try:
    ...     check("forecast", {"series": str(folder / "s.csv")}, {"out": str(folder / "s.csv")})
    ... except OutputError as exc:
    ...     print(str(exc)[:40])
    --out 's.csv' is an input of this comman
"""
from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from devocore import config
from devocore.errors import OutputError

log = logging.getLogger(__name__)

OUTPUT_OPTIONS = ("out", "overlay", "snapshot", "plot", "plot_dir", "grid", "gif", "real_grid", "figures", "examples")
# what each output option writes: a folder, or a file with one of these endings ("" = any); ``--out`` is a folder
# unless the command sets ``_out_file`` (a table: track, forecast, lineage)
FOLDER = "folder"
KINDS = {"overlay": (".mp4", ".mov", ".avi", ".mkv", ".m4v"),
         "snapshot": (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"),
         "plot": (".png",), "grid": (".png",), "real_grid": (".png",), "gif": (".gif",),
         "plot_dir": FOLDER, "figures": FOLDER, "examples": FOLDER, "out": FOLDER}
NOT_INPUTS = frozenset({"model", "from_model", "init", "checkpoint", "cache", "name", "overwrite"})
LEDGER = "outputs.jsonl"
_LEDGER_KEEP = 5000  # entries kept when the ledger is pruned
FOLDER_LIMIT = 100_000  # files looked at in an existing results folder; a larger one needs --overwrite


def _option(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _paths(value) -> list[str]:
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)] if os.fspath(value) else []
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _paths(v)]
    return []


def split_args(args) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(inputs, outputs) of parsed arguments: option name -> path(s). Only existing paths count as inputs."""
    inputs, outputs = {}, {}
    for dest, value in vars(args).items():
        if dest.startswith("_") or dest in NOT_INPUTS or value is None:
            continue
        if dest in OUTPUT_OPTIONS:
            if isinstance(value, (str, os.PathLike)) and os.fspath(value):
                outputs[dest] = os.fspath(value)
            continue
        found = [p for p in _paths(value) if os.path.lexists(p)]
        if found:
            inputs[dest] = found
    return inputs, outputs


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _is_within(path: Path, folder: Path) -> bool:
    return folder == path or folder in path.parents


def _ledger_path() -> Path:
    return config.state_dir() / LEDGER


def _read_ledger() -> list[dict]:
    try:
        lines = _ledger_path().read_text().splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def _fingerprint(path: Path, command: str, dest: str) -> dict:
    info = path.stat()
    return {"path": str(path), "dev": info.st_dev, "ino": info.st_ino, "size": info.st_size,
            "mtime_ns": info.st_mtime_ns, "command": command, "option": dest}


def _scan(folder: Path) -> dict[str, list[int]] | None:
    """Relative path -> [dev, inode, size, mtime_ns] of every file and link under ``folder``; None past FOLDER_LIMIT.

    Links are listed (by their own stat) and not followed, so a link in a results folder counts as a file
    devocore did not write.
    """
    found: dict[str, list[int]] = {}
    for root, dirs, names in os.walk(folder):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            size = -1 if stat.S_ISLNK(info.st_mode) else info.st_size  # -1: a link, never devocore's
            found[os.path.relpath(path, folder)] = [info.st_dev, info.st_ino, size, info.st_mtime_ns]
            if len(found) > FOLDER_LIMIT:
                return None
    return found


def _known_files() -> set[tuple]:
    """(path, dev, inode, size, mtime_ns) of every file the ledger holds, from any command."""
    known = set()
    for entry in _read_ledger():
        if "folder" in entry:
            base = Path(entry["folder"])
            known.update((str(base / rel), *map(int, fp)) for rel, fp in entry.get("files", {}).items())
        elif "path" in entry:
            known.add((entry["path"], entry.get("dev"), entry.get("ino"), entry.get("size"), entry.get("mtime_ns")))
    return known


def _foreign(folder: Path, scan: dict[str, list[int]]) -> list[str]:
    """Files of ``scan`` (a :func:`_scan` of the resolved ``folder``) that devocore did not write or that changed since.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp()).resolve()
        >>> _ = (folder / "notes.txt").write_text("mine")
        >>> _foreign(folder, _scan(folder))
        ['notes.txt']
    """
    known = _known_files()
    return sorted(rel for rel, (dev, ino, size, mtime) in scan.items()
                  if size < 0 or (str(folder / rel), dev, ino, size, mtime) not in known)


def written_by(path: Path, command: str, dest: str) -> bool:
    """True when devocore ``command`` wrote ``path`` through ``dest`` and the file is unchanged since."""
    try:
        now = _fingerprint(path.resolve(), command, dest)
    except OSError:
        return False
    return any(entry == now for entry in _read_ledger())


@dataclass
class Guard:
    """What :func:`check` allowed: the outputs, and the folders it created for them."""

    command: str
    outputs: dict[str, Path] = field(default_factory=dict)
    created: list[Path] = field(default_factory=list)
    before: dict[str, object] = field(default_factory=dict)  # dest -> the file's stat, or a folder's scan, at check

    def _written(self) -> list[dict]:
        """Ledger entries for what the command wrote: output files new or changed since :func:`check`, and per
        results folder the files in it that are new or changed (merged with that folder's earlier entry)."""
        entries = []
        previous = {(e["folder"], e.get("command"), e.get("option")): e for e in _read_ledger() if "folder" in e}
        for dest, path in self.outputs.items():
            if path.is_dir() and not path.is_symlink():
                now = _scan(path)
                if now is None:
                    log.warning("%s holds more than %d files; they were not noted, a rerun will need --overwrite",
                                path, FOLDER_LIMIT)
                    continue
                old = self.before.get(dest) or {}
                files = {rel: fp for rel, fp in
                         previous.get((str(path), self.command, dest), {}).get("files", {}).items()
                         if now.get(rel) == fp}
                files.update({rel: fp for rel, fp in now.items() if fp[2] >= 0 and old.get(rel) != fp})
                if files:
                    entries.append({"folder": str(path), "command": self.command, "option": dest, "files": files})
            elif path.is_file() and not path.is_symlink():
                entry = _fingerprint(path, self.command, dest)
                if self.before.get(dest) != (entry["dev"], entry["ino"], entry["size"], entry["mtime_ns"]):
                    entries.append(entry)
        return entries

    def record(self) -> None:
        """Note the files the command wrote, so a rerun may replace them without ``--overwrite``.

        Called after a failed run too: what it wrote is devocore's, and a rerun (or a resumed batch) may
        replace it.
        """
        try:
            entries = self._written()
        except OSError as exc:
            log.warning("could not look at the outputs (%s); a rerun may need --overwrite", exc)
            return
        if not entries:
            return
        def key(entry):
            return ("folder", entry["folder"], entry.get("command"), entry.get("option")) if "folder" in entry \
                else ("path", entry.get("path"))
        ledger = _ledger_path()
        try:
            ledger.parent.mkdir(parents=True, exist_ok=True)
            new_keys = {key(n) for n in entries}
            old = [e for e in _read_ledger() if key(e) not in new_keys]
            if len(old) > 2 * _LEDGER_KEEP:  # prune now and then; a lost entry only means --overwrite next time
                tmp = ledger.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text("".join(json.dumps(e) + "\n" for e in old[-_LEDGER_KEEP:]))
                tmp.replace(ledger)
            with open(ledger, "a") as handle:
                handle.write("".join(json.dumps(e) + "\n" for e in entries))
        except OSError as exc:
            log.warning("could not note the outputs in %s (%s); a rerun will need --overwrite", ledger, exc)

    def cleanup(self) -> None:
        """Remove the folders :func:`check` created, when they are still empty (the command failed)."""
        for folder in reversed(self.created):
            try:
                folder.rmdir()
            except OSError:
                pass


def _kind_problem(option: str, raw: Path, path: Path, kind) -> str | None:
    """Why ``path`` cannot be an output of ``kind`` (FOLDER, file endings, or None for anything), or None."""
    if kind is None:
        return None
    if kind == FOLDER:
        if path.is_file():
            return f"{option} '{raw}' is a file; this command writes a folder of results there. Give a folder name."
        return None
    if path.is_dir():
        example = f"{raw}/{'result' if option == '--out' else option.strip('-')}{kind[0] if kind else '.csv'}"
        return f"{option} '{raw}' is a folder; give the name of the file to write, such as '{example}'."
    if kind and path.suffix.lower() not in kind:
        return (f"{option} '{raw.name}' must end in {' or '.join(kind)} (that says which kind of file to write); "
                f"for example '{raw.with_suffix(kind[0]).name}'.")
    return None


def check(command: str, inputs: dict[str, list[str] | str], outputs: dict[str, str],
          overwrite: bool = False, labels: dict[str, str] | None = None, kinds: dict | None = None) -> Guard:
    """Refuse outputs that would replace an input or a file devocore did not write; make missing folders.

    Args:
        command: the command's name ("track", "eval lineage"), as recorded in the ledger.
        inputs: option name -> path or paths read by the command.
        outputs: option name -> path written by the command (a file or a folder).
        overwrite: allow replacing existing files devocore did not write (never an input).
        labels: how messages name each option (default ``--dest``); a positional argument is its name.
        kinds: option name -> FOLDER or the file endings it may have (:data:`KINDS` from the CLI; an option
            not named, or with no endings, may be any file or folder).

    Raises:
        OutputError with a line that names the option and what to do.
    """
    labels, kinds = labels or {}, kinds or {}
    guard = Guard(command)
    sources = []  # (option, resolved path, identity)
    for dest, values in inputs.items():
        for value in ([values] if isinstance(values, str) else values):
            path = Path(value).expanduser()
            sources.append((dest, path.resolve(), _identity(path)))
    seen: dict[Path, str] = {}
    try:
        for dest, value in outputs.items():
            option, raw = _option(dest), Path(value).expanduser()
            path = raw.resolve()
            shown = raw.name or str(raw)
            if path in seen:
                raise OutputError(f"{option} and {_option(seen[path])} name the same path '{shown}'; "
                                  "give each output its own name.")
            seen[path] = dest
            identity = _identity(path)
            for source_dest, source, source_id in sources:
                what = f"{labels.get(source_dest, _option(source_dest))} '{source.name or source}'"
                if path == source or (identity is not None and identity == source_id):
                    raise OutputError(f"{option} '{shown}' is an input of this command ({what}); it is never "
                                      "overwritten. Choose another output name.")
                if source.is_dir() and _is_within(path, source):
                    raise OutputError(f"{option} '{shown}' lies inside the input folder {what}; outputs never go "
                                      "into an input folder (a rerun would read them). Choose a folder outside it.")
                if path.is_dir() and _is_within(source, path):
                    raise OutputError(f"{option} folder '{shown}' holds an input of this command ({what}); choose a separate folder "
                                      "for the results so your files are never overwritten.")
            problem = _kind_problem(option, raw, path, kinds.get(dest))
            if problem:
                raise OutputError(problem)
            if os.path.lexists(path):
                mode = os.stat(path).st_mode if path.exists() else 0
                if stat.S_ISDIR(mode):  # a results folder: the command writes its own file names into it
                    guard.before[dest] = _scan(path)
                    if not overwrite:
                        _refuse_foreign(option, shown, path, guard.before[dest])
                elif not stat.S_ISREG(mode):
                    raise OutputError(f"{option} '{raw}' is not a regular file or folder (a device, pipe or broken "
                                      "link); give the path of a file to write.")
                elif not overwrite and not written_by(path, command, dest):
                    raise OutputError(f"{option} '{shown}' already exists and was not written by a previous "
                                      f"'{command}'; add --overwrite to replace it, or choose another name.")
                else:
                    info = path.stat()
                    guard.before[dest] = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            else:
                missing = []
                for parent in path.parents:
                    if parent.exists():
                        if not parent.is_dir():
                            raise OutputError(f"{option} '{raw}': '{parent}' is a file, not a folder.")
                        break
                    missing.append(parent)
                try:
                    for folder in reversed(missing):
                        folder.mkdir()
                        guard.created.append(folder)
                except OSError as exc:
                    guard.cleanup()
                    raise OutputError(f"{option} '{raw}': cannot create the folder '{folder}' "
                                      f"({exc.strerror}).") from exc
            guard.outputs[dest] = path
    except OutputError:
        guard.cleanup()  # folders made for an earlier output of this command
        raise
    return guard


def _refuse_foreign(option: str, shown: str, path: Path, scan: dict | None) -> None:
    """Raise OutputError when the results folder ``path`` holds files devocore did not write."""
    if scan is None:
        raise OutputError(f"{option} folder '{shown}' holds more than {FOLDER_LIMIT:,} files; choose a new or empty "
                          "folder for the results (or add --overwrite to write into it anyway).")
    foreign = _foreign(path, scan)
    if foreign:
        named = ", ".join(f"'{f}'" for f in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputError(f"{option} folder '{shown}' already holds files devocore did not write ({named}); the "
                          "command writes its results into this folder and could replace a file of yours. Choose "
                          "a new or empty folder, or add --overwrite to allow replacing files of the same names.")


def check_args(args, command: str) -> Guard:
    """:func:`check` over parsed CLI arguments (see :func:`split_args`)."""
    inputs, outputs = split_args(args)
    kinds = dict(KINDS, out=()) if getattr(args, "_out_file", False) else KINDS
    return check(command, inputs, outputs, overwrite=bool(getattr(args, "overwrite", False)),
                 labels=getattr(args, "_labels", None), kinds=kinds)
