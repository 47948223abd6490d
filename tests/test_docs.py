"""The README and --help stay true: every command is documented with examples (sqlite-utils' test_docs)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from olympia.cli import COMMANDS, main as olympia_main
from olympia.schema import clip_json_schema

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def walk(group: click.Group, prefix: str):
    """(full command path, command) for every command and subcommand, loading lazy ones."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        path = f"{prefix} {name}"
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, path)


def all_commands():
    from lift.cli import main as lift_main

    return [("olympia", olympia_main)] + list(walk(olympia_main, "olympia")) + \
        [("lift", lift_main)] + list(walk(lift_main, "lift"))


COMMAND_PATHS = [path for path, _ in all_commands()]


def test_every_registered_area_loads():
    ctx = click.Context(olympia_main)
    for name in COMMANDS:
        cmd = olympia_main.get_command(ctx, name)
        assert "unavailable" not in (cmd.help or ""), f"olympia {name}: {cmd.help}"


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_readme_mentions_command(path):
    assert re.search(rf"(^|\s|`){re.escape(path)}(\s|`|$)", README, re.M), f"README.md never shows `{path}`"


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_help_has_examples(path):
    parts = path.split()
    if parts[0] == "olympia":
        root = olympia_main
    else:
        from lift.cli import main as root
    result = CliRunner().invoke(root, parts[1:] + ["--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output, f"`{path} --help` has no Examples: block"
    assert path.split()[0] in result.output.split("Examples:", 1)[1], f"`{path}` examples show no command line"


def test_quick_start_commands_exist():
    makefile = (REPO / "Makefile").read_text()
    for target in ("dataset", "test", "bench", "train", "evaluate"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no `{target}` target"
    assert "make test" in (REPO / ".ci/run").read_text()


def test_clip_json_schema_file_is_current():
    on_disk = json.loads((REPO / "schemas/clip.schema.json").read_text())
    assert on_disk == clip_json_schema(), "regenerate: python -m olympia.schema > schemas/clip.schema.json"


def test_clip_schema_doc_is_current():
    from olympia.schema import clip_schema_doc

    assert (REPO / "docs/clip-schema.md").read_text() == clip_schema_doc() + "\n", \
        "regenerate: python -m olympia.schema markdown > docs/clip-schema.md"


def _example_lines(path: str, cmd: click.Command) -> list[str]:
    """The command lines of a --help Examples: block (comments dropped, continuations joined)."""
    text = (cmd.help or "").split("Examples:", 1)
    if len(text) < 2:
        return []
    lines = text[1].replace("\\\n", " ").splitlines()
    return [l.split("  #")[0].strip() for l in lines
            if l.strip().startswith(path.split()[0] + " ") or "=" in l.split(" ")[0] and path.split()[0] in l]


def _resolve(root: click.Group, words: list[str]) -> tuple[click.Command, list[str]]:
    cmd, rest = root, list(words)
    while isinstance(cmd, click.Group) and rest and rest[0] in cmd.list_commands(click.Context(cmd)):
        cmd = cmd.get_command(click.Context(cmd), rest.pop(0))
    return cmd, rest


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_help_examples_name_only_options_and_commands_that_exist(path):
    """Every example line in --help parses: its subcommand exists, every --option is one the
    command has, and it gives as many arguments as the command takes (a wrong option name in an
    example fails here, not in a user's shell)."""
    import shlex

    commands = dict(all_commands())
    for line in _example_lines(path, commands[path]):
        words = shlex.split(re.split(r"\s(?:\||&&|;)\s", line)[0])   # the first command of a pipeline
        while words and "=" in words[0]:          # VAR=value olympia ...
            words.pop(0)
        root = olympia_main if words[0] == "olympia" else commands["lift"]
        cmd, rest = _resolve(root, words[1:])
        names = {o for p in cmd.params for o in getattr(p, "opts", []) + getattr(p, "secondary_opts", [])}
        for w in rest:
            if w.startswith("-"):
                assert w.split("=")[0] in names, f"`{line}` ({path} --help): {cmd.name} has no option {w}"
        if not isinstance(cmd, click.Group):
            flags = {o for p in cmd.params if isinstance(p, click.Option) and p.is_flag for o in p.opts}
            positional = [w for i, w in enumerate(rest) if not w.startswith("-")
                          and not (i and rest[i - 1].startswith("-") and rest[i - 1] not in flags)]
            args = [p for p in cmd.params if isinstance(p, click.Argument)]
            fixed = sum(a.nargs for a in args if a.nargs > 0)
            required = sum(a.nargs for a in args if a.nargs > 0 and a.required)
            assert len(positional) >= required and (any(a.nargs == -1 for a in args) or len(positional) <= fixed), \
                f"`{line}` ({path} --help): {len(positional)} arguments for {[a.name for a in args]}"


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_help_text_names_only_parameters_that_exist(path):
    """A METAVAR_LIKE word in the help text (STORE_DIR, RAW_DIR) is one of the command's
    arguments or option metavars: `olympia ingest --help` once wrote to STORE_DIR, which is --out."""
    cmd = dict(all_commands())[path]
    ctx = click.Context(cmd, info_name=path.split()[-1])
    names = {p.human_readable_name.upper() for p in cmd.params}
    names |= {(p.metavar or "").upper() for p in cmd.params} | {p.make_metavar(ctx).upper() for p in cmd.params}
    names |= {e for p in cmd.params for e in ([p.envvar] if isinstance(p.envvar, str) else p.envvar or [])}
    text = cmd.help or ""
    for word in set(re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", text)):
        if word.startswith(("OLYMPIA_", "PYTHON")) or f"{word}=" in text:     # environment variables
            continue
        assert word in names, f"`{path} --help` names {word}, which is no parameter of it"
