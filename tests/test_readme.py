"""README.md runs as written: every command line of its ```bash blocks and every ```python
block of "Reading a release" is executed from a scratch folder laid out like the repository root
after `make dataset`, against small fixtures in the sources' real formats.

A line is run as written, run with a listed substitution (and the reason), or skipped (and the
reason: a network, a server); the tables below must name exactly the README's lines, so a new
README command is run unless someone writes down why not. Quick lines run in the default suite;
the ones that take long (the 600-clip build, MediaPipe, training) run with `-m slow`, which runs
every line in a shell through the installed console scripts.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from raw_fixtures import write_fit3d, write_mmfit

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
from conftest import SHARED                   # the real files beside the checkout  # noqa: E402
SHARED_VIDEO = SHARED / "realdata" / "videos" / "countix_4-YmQKoHYmw.mp4"

# command (comment removed) -> why it is not run here
SKIP = {
    "make dataset": "installs the environment; its build step is the `olympia build --out "
                    "dist/olympia-demo` line, run here",
    "make test": "the whole suite, of which this test is part",
    "olympia videos download annotations/sources.yaml --out work/videos/raw":
        "network (YouTube through yt-dlp); tests/test_video_download.py covers it offline",
    "olympia annotate serve": "starts the Label Studio server (tests/test_annotate_server.py)",
    "olympia annotate push workouts": "needs the Label Studio server (tests/test_annotate_server.py)",
    "olympia annotate pull workouts --clips work/clips": "needs the Label Studio server "
                                                         "(tests/test_annotate_server.py)",
    "olympia annotate push workouts --suggest": "needs the Label Studio server "
                                                "(tests/test_annotate_server.py)",
    "olympia annotate report workouts": "reads annotations/workouts.json, which `annotate pull` "
                                        "writes from the server (tests/test_annotate_server.py)",
    "olympia pose --segments work/clips/workouts.clips.json --out work/stores/videos --source opensource":
        "reads the clips manifest that `annotate pull` writes (server); the pose path runs on "
        "the cut clips above",
    "python -m http.server -d work/site 8000": "a web server that runs until stopped",
}
# command -> (what is appended, why)
SUBSTITUTE = {
    "olympia build --out dist/olympia-paper --split-mode clip --clips 7618":
        ("--clips 40", "7,618 clips take minutes; 40 clips run the same code"),
    "lift train --release dist/olympia-demo --config small --out work/lift-small":
        ("--epochs 1 --max-steps-per-epoch 2 --quiet", "training takes minutes on a CPU"),
    "lift fewshot --release dist/olympia-demo --checkpoint work/lift-small --source demo --shots 40 --out work/fs":
        ("--epochs 1 --quiet", "fine-tuning takes minutes on a CPU"),
}
# commands run only with -m slow (the default suite runs the others)
SLOW = {
    "olympia build --out dist/olympia-demo": "600 clips (the default suite reads a 40-clip copy)",
    "olympia build --out dist/olympia-paper --split-mode clip --clips 7618": "a second build",
    "olympia videos normalize work/videos/raw/*.mp4 --out work/videos/normalized/workouts": "ffmpeg",
    "olympia videos probe work/videos/normalized/workouts/abc.mp4": "after normalize",
    "olympia videos sets work/videos/normalized/workouts/abc.mp4 --json": "MediaPipe",
    "olympia videos sets work/videos/normalized/workouts/abc.mp4 --plot work/abc.sets.png": "MediaPipe (cached)",
    "olympia videos cut work/videos/normalized/workouts/abc.mp4 --start 50 --end 200 --out work/clips": "ffmpeg",
    "olympia pose work/clips/*.mp4 --backend mediapipe --out work/stores/videos": "MediaPipe",
    "olympia count work/videos/normalized/workouts/abc.mp4": "MediaPipe",
    "olympia count work/videos/normalized/workouts/abc.mp4 --reps": "MediaPipe (cached)",
    "olympia show dist/olympia-demo --sample 5 --out work/show": "5 figures",
    "olympia view dist/olympia-demo --out work/site": "a site of every clip",
    "lift train --release dist/olympia-demo --config small --out work/lift-small": "torch",
    "lift evaluate --release dist/olympia-demo --checkpoint work/lift-small --out work/lift-small/eval": "torch",
    "lift fewshot --release dist/olympia-demo --checkpoint work/lift-small --source demo --shots 40 --out work/fs": "torch",
    "lift predict work/videos/normalized/workouts/abc.mp4 --checkpoint work/lift-small": "MediaPipe, torch",
    "olympia pose-eval ../shared/realdata/fit3d/train/s04/videos/*/*.mp4 --held-out": "MediaPipe on 50 fps videos",
}
NEEDS_VIDEO = [c for c in SLOW if "work/videos" in c or "work/clips" in c]


def readme_commands() -> list[tuple[str, str]]:
    """(command, comment) of every logical line of the README's ```bash blocks."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            command, _, comment = line.partition("  #")
            out.append((re.sub(r"\s+", " ", command.strip()), comment.strip(" #")))
    return out


def readme_python(section: str = "Reading a release") -> list[str]:
    part = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", part, re.S)


def test_every_readme_command_is_run_substituted_or_skipped_with_a_reason():
    commands = [c for c, _ in readme_commands()]
    assert len(commands) > 25 and len(set(commands)) == len(commands)
    for table in (SKIP, SUBSTITUTE, SLOW):
        stale = set(table) - set(commands)
        assert not stale, f"no longer in README.md: {stale}"
    assert not set(SKIP) & set(SLOW)
    for reason in list(SKIP.values()) + [r for _, r in SUBSTITUTE.values()]:
        assert len(reason) > 15
    assert [c for c in commands if c.startswith(("olympia", "lift", "make", "python"))] == commands


def _workspace(root: Path, release: Path) -> dict:
    """A folder laid out like the repository root after `make dataset`: dist/olympia-demo (a
    40-clip copy), fixtures in the real formats under data/ for README's /data/..., a real video
    as work/videos/raw/abc.mp4."""
    shutil.copytree(release, root / "dist" / "olympia-demo")
    write_mmfit(root / "data" / "mm-fit")
    write_fit3d(root / "data" / "fit3d")
    if SHARED_VIDEO.is_file():
        (root / "work" / "videos" / "raw").mkdir(parents=True)
        shutil.copy(SHARED_VIDEO, root / "work" / "videos" / "raw" / "abc.mp4")
    bin_dir = Path(sys.executable).parent
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "model")]),
            "HF_HOME": str(root / ".hf"), "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def _run(command: str, comment: str, root: Path, env: dict, in_process: bool = False) -> None:
    """Run one README line from `root`: in a shell (as a user would), or, for the quick tier,
    in this process through click (the same command objects, without seconds of imports per
    line) when the line uses no shell feature."""
    line = command.replace(" /data/", f" {root}/data/").replace(" ../shared/", f" {SHARED}/")
    if command in SUBSTITUTE:
        line += " " + SUBSTITUTE[command][0]
    if in_process and command.startswith("olympia ") and not re.search(r"[*|$&;<>]", line):
        from click.testing import CliRunner

        from olympia.cli import main
        cwd = os.getcwd()
        os.chdir(root)
        try:
            result = CliRunner().invoke(main, shlex.split(line)[1:])
        finally:
            os.chdir(cwd)
        code, out, err = result.exit_code, result.output, repr(result.exception)
    else:
        done = subprocess.run(["bash", "-c", line], cwd=root, env=env, capture_output=True, text=True,
                              timeout=1200)
        code, out, err = done.returncode, done.stdout, done.stderr
    assert code == 0, f"README line failed: {line}\n{out[-1500:]}\n{err[-3000:]}"
    if comment.startswith("-> "):   # the README promises an output: check it
        promised = comment[3:].split(":")[0].strip()
        assert promised in out, f"{line}: README says -> {promised!r}, got {out!r}"


def _run_all(tmp_path: Path, release: Path, slow: bool) -> list[str]:
    env = _workspace(tmp_path, release)
    ran = []
    for command, comment in readme_commands():
        if command in SKIP or (command in SLOW and not slow):
            continue
        if (command in NEEDS_VIDEO and not SHARED_VIDEO.is_file()) or ("../shared/" in command and not SHARED.is_dir()):
            continue
        if command.startswith("olympia pose work/clips") and not shutil.which("ffmpeg"):
            continue
        _run(command, comment, tmp_path, env, in_process=not slow)
        ran.append(command)
    return ran


def test_readme_commands_run(demo_release, tmp_path):
    ran = _run_all(tmp_path, demo_release, slow=False)
    assert "olympia ingest fit3d /data/fit3d --out work/stores/fit3d" in ran
    assert (tmp_path / "work/stores/fit3d/meta/info.json").is_file()
    assert (tmp_path / "work/stores/mmfit/meta/info.json").is_file()
    assert (tmp_path / "work/uiprmd_vocabulary.json").is_file()


@pytest.mark.slow
def test_readme_commands_run_including_the_slow_ones(demo_release, tmp_path):
    if not SHARED_VIDEO.is_file():
        pytest.skip(f"{SHARED_VIDEO} is absent: the video lines need a real video")
    ran = _run_all(tmp_path, demo_release, slow=True)
    assert set(SLOW) <= set(ran)
    assert len(list((tmp_path / "work/show").glob("*.png"))) == 5
    assert (tmp_path / "work/abc.sets.png").is_file()


def test_reading_a_release_recipes_run(demo_release, tmp_path):
    """The ```python blocks of "Reading a release", run from the scratch repository root."""
    env = _workspace(tmp_path, demo_release)
    blocks = readme_python()
    assert blocks[0].startswith("from olympia.torch import")            # typed tensors first
    checks = {0: "assert item['keypoints'].shape[1:] == (17, 3) and item['motion_image'].shape == (3, 384, 640)",
              1: "import torch; assert kp.shape[1:] == (17, 3) and kp.dtype == torch.float32",
              2: "assert len(meta) == 40 and set(meta.split) == {'train', 'validation', 'test'}",
              4: "assert kp.shape[1:] == (17, 3) and padded.shape == (384, 640, 3)"}
    for i, block in enumerate(blocks):
        code = block + "\n" + checks.get(i, "")
        result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"README block {i} failed:\n{block}\n{result.stderr[-2000:]}"


def test_build_works_from_any_directory_and_says_so_when_no_recipe_is_found(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from olympia.cli import build as build_cli
    from olympia.cli import main
    monkeypatch.chdir(tmp_path)                                  # no pipelines/ here
    assert build_cli.default_recipe() == REPO / "pipelines" / "release.yaml"
    result = CliRunner().invoke(main, ["build", "--out", "rel", "--clips", "6", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rel" / "meta" / "info.json").is_file()
    monkeypatch.setattr(build_cli, "DEFAULT_RECIPE", "pipelines/missing.yaml")
    result = CliRunner().invoke(main, ["build", "--out", "rel2"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "pass --recipe" in result.output and "missing.yaml" in result.output
