"""The ``devocore`` command line.

Subcommands live one per module in :mod:`devocore.commands` and are found by
name, so adding a command never touches this file:

* ``commands/info.py`` becomes ``devocore info``;
* ``commands/eval_lineage_classifier.py`` becomes ``devocore eval lineage-classifier``
  (likewise the groups ``bench``, ``train`` and ``simulate``).

A command module has a docstring (its first line is the help), an
``add_arguments(parser)`` function and a ``run(args)`` function. ``run`` returns
``None``, an exit code, or a dict of figures; with ``--json`` (added to every
``eval`` and ``bench`` command) the dict is printed as the last line, as JSON.

Errors from the user's input (:class:`devocore.errors.DevocoreError`) are
printed as one line and exit with code 2; no traceback.

Every command with an output option (``--out``, ``--overlay``, ``--snapshot``, ``--plot``, ``--plot-dir``)
gets ``--overwrite`` and one check, before it runs, that no output replaces an input or a file devocore
did not write (see :mod:`devocore.outputs`).
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import os
import pkgutil
import sys
from types import ModuleType

import devocore
from devocore import commands, outputs, progress
from devocore.errors import DevocoreError

GROUPS = {
    "eval": "Measure a model or method against labelled data.",
    "bench": "Measure speed and memory.",
    "train": "Train a model on simulated or your own data.",
    "simulate": "Generate synthetic embryos and worms with exact ground truth.",
}
JSON_GROUPS = {"eval", "bench"}


def _command_modules() -> list[tuple[str | None, str, str]]:
    """(group, command name, module name) for every module in devocore.commands."""
    found = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        group, _, rest = info.name.partition("_")
        if group in GROUPS and rest:
            found.append((group, rest.replace("_", "-"), info.name))
        else:
            found.append((None, info.name.replace("_", "-"), info.name))
    return sorted(found, key=lambda item: (item[0] or "", item[1]))  # group None sorts first


def _help_line(module: ModuleType) -> str:
    return (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every discovered command."""
    parser = argparse.ArgumentParser(
        prog="python -m devocore",
        description="Devoscope: deep-learning tools for C. elegans developmental biology.",
    )
    parser.add_argument("--version", action="version", version=f"devocore {devocore.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    group_parsers: dict[str, argparse._SubParsersAction] = {}
    for group, name, module_name in _command_modules():
        module = importlib.import_module(f"devocore.commands.{module_name}")
        if group is None:
            sub = top.add_parser(name, help=_help_line(module), description=module.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        else:
            if group not in group_parsers:
                gp = top.add_parser(group, help=GROUPS[group], description=GROUPS[group])
                group_parsers[group] = gp.add_subparsers(dest="subcommand", metavar="WHAT", required=True)
            sub = group_parsers[group].add_parser(name, help=_help_line(module), description=module.__doc__,
                                                  formatter_class=argparse.RawDescriptionHelpFormatter)
            if group in JSON_GROUPS:
                sub.add_argument("--json", action="store_true",
                                 help="print the figures as one JSON object on the last line")
        module.add_arguments(sub)
        if any(action.dest in outputs.OUTPUT_OPTIONS for action in sub._actions):
            sub.add_argument("--overwrite", action="store_true",
                             help="replace existing output files that devocore did not write (an input is "
                                  "never replaced; a file a previous run of this command wrote is replaced "
                                  "without it)")
        labels = {a.dest: a.option_strings[0] if a.option_strings else f"the {a.dest.replace('_', ' ')}"
                  for a in sub._actions}
        sub.set_defaults(_run=module.run, _command=name if group is None else f"{group} {name}", _labels=labels)
    return parser


def _jsonable(value):
    """Make numpy scalars, arrays, paths and NaN JSON-safe."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def print_json(figures: dict) -> None:
    """Print ``figures`` as one JSON line (the machine-readable last line)."""
    print(json.dumps(_jsonable(figures)), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    guard = None
    try:
        guard = outputs.check_args(args, args._command)
        result = args._run(args)
    except DevocoreError as exc:
        progress.end_line()
        print(f"error: {exc}", file=sys.stderr)
        return _failed(guard, 2)
    except OSError as exc:
        if exc.filename is None or os.environ.get("DEVOCORE_DEBUG"):
            return _failed(guard, _internal(exc))
        # a file the system would not let us read or write: the environment, not a bug
        progress.end_line()
        print(f"error: '{exc.filename}': {exc.strerror or exc}.", file=sys.stderr)
        return _failed(guard, 2)
    except KeyboardInterrupt:
        progress.end_line()
        print("interrupted", file=sys.stderr)
        return _failed(guard, 130)
    except Exception as exc:  # a bug, not bad input: say so in one line unless asked for more
        return _failed(guard, _internal(exc))
    code = 0 if isinstance(result, dict) else int(result or 0)
    guard.record()
    if code != 0:
        guard.cleanup()
    if isinstance(result, dict) and getattr(args, "json", False):
        print_json(result)
    return code


def _internal(exc: BaseException) -> int:
    if os.environ.get("DEVOCORE_DEBUG"):
        raise exc
    progress.end_line()
    print(f"internal error ({type(exc).__name__}): {exc}. Set DEVOCORE_DEBUG=1 for the traceback "
          "and please report it.", file=sys.stderr)
    return 1


def _failed(guard: outputs.Guard | None, code: int) -> int:
    if guard is not None:
        guard.record()  # what the run wrote before it failed is devocore's: a rerun may replace it
        guard.cleanup()
    return code
