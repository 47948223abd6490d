"""`olympia show`: a clip as a PNG; a wrong id is named with close matches."""
from click.testing import CliRunner
import matplotlib.image as mpimg

from factories import make_clip
from olympia.cli import main
from olympia.store import write_store


def test_show_draws_each_clip_and_names_a_wrong_id(tmp_path):
    write_store(tmp_path / "s", [make_clip(i, n_frames=50, reps=2) for i in range(3)], progress=False)
    result = CliRunner().invoke(main, ["show", str(tmp_path / "s"), "--sample", "2", "--out", str(tmp_path / "png")])
    assert result.exit_code == 0, result.output
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert len(pngs) == 2 and [str(p) for p in pngs] == sorted(result.output.split())
    height, width, _ = mpimg.imread(pngs[0]).shape
    assert width > 800 and height > 600
    result = CliRunner().invoke(main, ["show", str(tmp_path / "s"), "test:c0001x"])
    assert result.exit_code == 2 and "no clip 'test:c0001x'" in result.output and "did you mean" in result.output
