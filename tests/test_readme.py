"""The README is short, its commands parse, its paths exist, and every relative link in it and in docs/ resolves.

Commands are checked by parsing them with the real CLI parser (no command is run: some read ../shared data,
which tests never need); options, choices and subcommands that do not exist fail here.
"""
from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import pytest

from devocore import cli, outputs

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
MARKDOWN = [README, *sorted((ROOT / "docs").rglob("*.md"))]

REPO_PATH = re.compile(r"^(?:assets|docs|tools|tests|devocore|pages|\.ci|\.streamlit)/[\w./*-]*$|"
                       r"^(?:requirements(?:-dev)?\.txt|app\.py)$")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)


def commands(block: str) -> list[str]:
    """Shell command lines of a block: continuations joined, comments dropped, `&&` chains split."""
    joined = re.sub(r"\\\n\s*", " ", block)
    lines = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        lines.extend(part.strip() for part in line.split("&&") if part.strip())
    return lines


def devocore_args(line: str) -> list[str] | None:
    """The arguments after `python -m devocore` (environment assignments before it allowed), else None."""
    tokens = shlex.split(line)
    while tokens and re.match(r"^[A-Z_]+=", tokens[0]):
        tokens.pop(0)
    if tokens[:3] != ["python", "-m", "devocore"]:
        return None
    return tokens[3:]


README_COMMANDS = [line for block in bash_blocks(TEXT) for line in commands(block)]
DEVOCORE_COMMANDS = [args for args in map(devocore_args, README_COMMANDS) if args is not None]


def test_readme_is_short():
    assert len(TEXT.splitlines()) < 350


def test_readme_has_the_sections_a_newcomer_needs():
    headings = re.findall(r"^## (.+)$", TEXT, flags=re.M)
    for needed in ["Quick start", "For developers: tests", "The views", "Where the models stand",
                   "Command line conventions", "Configuration and limits", "Data and credits",
                   "Security in brief", "Developing"]:
        assert needed in headings, needed
    quick = TEXT.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    for step in ["git clone", "python3 -m venv .venv", "pip install -r requirements.txt", "streamlit run app.py",
                 "http://localhost:8501"]:
        assert step in quick, step


def test_ci_runs_exactly_the_readme_test_command():
    section = TEXT.split("## For developers: tests", 1)[1].split("\n## ", 1)[0]
    (block,) = bash_blocks(section)
    command = block.strip()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci


def test_readme_has_devocore_commands_for_every_view():
    names = {" ".join(args[:2]) if args[0] in cli.GROUPS else args[0] for args in DEVOCORE_COMMANDS}
    assert {"segment", "lineage", "track", "forecast", "batch", "eval gan", "eval lineage-classifier",
            "train nucleus", "simulate embryo", "simulate worm"} <= names


@pytest.mark.parametrize("args", DEVOCORE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_readme_command_parses_with_the_real_cli(args):
    parser = cli.build_parser()
    try:
        parser.parse_args(args)
    except SystemExit as exc:  # argparse exits 2 on an unknown option, choice or command
        pytest.fail(f"`python -m devocore {' '.join(args)}` does not parse (exit {exc.code})")


@pytest.mark.parametrize("args", DEVOCORE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_readme_command_writes_only_under_out(args):
    """Outputs go under out/ (ignored by git)."""
    parsed = vars(cli.build_parser().parse_args(args))
    for dest in outputs.OUTPUT_OPTIONS:
        value = parsed.get(dest)
        if isinstance(value, (str, Path)) and str(value):
            assert str(value).startswith("out/"), f"--{dest.replace('_', '-')} {value}: write under out/"


def test_a_command_with_a_wrong_option_fails_the_parse_check():
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["segment", "nucleus", "x.png", "--out", "out/x", "--no-such-option"])


def readme_paths() -> set[str]:
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", TEXT, flags=re.S | re.M))
    words = [w for span in spans for w in span.split()]
    words += [w for line in README_COMMANDS for w in shlex.split(line)]
    words += re.findall(r"\]\(([^)\s]+)\)", TEXT)
    return {w.rstrip(".,;:)") for w in words if "<" not in w and REPO_PATH.match(w.rstrip(".,;:)"))}


def test_readme_paths_exist():
    paths = readme_paths()
    assert "assets/examples/segmentation/nuclei.png" in paths and "docs/img/app.png" in paths
    missing = sorted(p for p in paths if not glob.glob(str(ROOT / p)))
    assert not missing, missing


def test_docs_devocore_commands_name_real_commands():
    known = {(group, name) for group, name, _ in cli._command_modules()}
    top = {name for group, name in known if group is None}
    bad = []
    for path in MARKDOWN:
        text = re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))
        for first, second in re.findall(r"python -m devocore ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", text):
            if first in cli.GROUPS:
                if (first, second) not in known:
                    bad.append(f"{path.relative_to(ROOT)}: {first} {second}")
            elif first not in top:
                bad.append(f"{path.relative_to(ROOT)}: {first}")
    assert not bad, bad


def relative_links(path: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    return [link for link in links if not re.match(r"^(?:[a-z]+:|#)", link)]


def test_relative_links_in_readme_and_docs_resolve():
    broken = []
    for path in MARKDOWN:
        for link in relative_links(path):
            target = (path.parent / link.split("#", 1)[0]).resolve()
            if not target.exists():
                broken.append(f"{path.relative_to(ROOT)} -> {link}")
    assert not broken, broken


def test_link_check_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[ok](page.md) [web](https://example.org) [gone](missing.md) [anchor](#x)\n")
    assert relative_links(page) == ["page.md", "missing.md"]
