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
