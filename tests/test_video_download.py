"""Real yt-dlp downloads from a local HTTP server on 127.0.0.1 (no internet needed)."""
from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

import ffmpeg
import pytest

from olympia.errors import SourceFormatError
from olympia.video.download import SourceVideo, download_sources, load_records, load_sources
from olympia.video.manifest import SOURCES_SCHEMA

REPO = Path(__file__).resolve().parents[1]


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the directory; /broken/<name> promises the full length but sends half."""

    hits: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).hits.append(self.path)
        if self.path.startswith("/broken/"):
            data = (Path(self.directory) / self.path.removeprefix("/broken/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    do_HEAD = do_GET


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    ffmpeg.input("testsrc=size=160x120:rate=25:d=2", f="lavfi").output(
        str(root / "workout.mp4"), vcodec="libx264", pix_fmt="yuv420p").overwrite_output().run(quiet=True)
    handler = lambda *a, **k: Handler(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def entry(id_, url):
    return SourceVideo(id=id_, url=url, creator="Test Creator", license="CC-BY-4.0", title=id_)


def test_download_records_sha256_keeps_info_json_and_skips_when_done(server, tmp_path):
    base, root = server
    expected = hashlib.sha256((root / "workout.mp4").read_bytes()).hexdigest()
    outcomes = download_sources([entry("full-body-1", f"{base}/workout.mp4")], tmp_path,
                                progress=False, retries=1)
    assert [o.ok for o in outcomes] == [True]
    assert outcomes[0].sha256 == expected and Path(outcomes[0].path) == tmp_path / "full-body-1.mp4"
    info = json.loads((tmp_path / "full-body-1.info.json").read_text())
    assert info["webpage_url"] == f"{base}/workout.mp4"
    rec = load_records(tmp_path)["full-body-1"]
    assert rec["sha256"] == expected and rec["license"] == "CC-BY-4.0"
    assert rec["bytes"] == (root / "workout.mp4").stat().st_size
    assert "workout" in (tmp_path / "archive.txt").read_text()  # yt-dlp's download archive

    Handler.hits.clear()
    again = download_sources([entry("full-body-1", f"{base}/workout.mp4")], tmp_path,
                             progress=False, retries=1)
    assert again[0].skipped and again[0].sha256 == expected
    assert Handler.hits == []  # finished videos are not fetched again


def test_failing_url_is_a_per_item_error_and_the_rest_go_on(server, tmp_path):
    base, _ = server
    outcomes = download_sources([entry("gone", f"{base}/no-such-video.mp4"),
                                 entry("ok", f"{base}/workout.mp4")], tmp_path,
                                progress=False, retries=1)
    bad, good = outcomes
    assert not bad.ok and "gone" in bad.error and "404" in bad.error
    assert good.ok and (tmp_path / "ok.mp4").is_file()
    assert set(load_records(tmp_path)) == {"ok"}


def test_partial_download_never_counts_as_done(server, tmp_path):
    base, root = server
    outcomes = download_sources([entry("cut-short", f"{base}/broken/workout.mp4")], tmp_path,
                                progress=False, retries=1, socket_timeout=5)
    assert not outcomes[0].ok and "cut-short" in outcomes[0].error
    assert not (tmp_path / "cut-short.mp4").exists()
    assert "cut-short" not in load_records(tmp_path)
    archive = tmp_path / "archive.txt"
    assert not archive.exists() or archive.read_text().strip() == ""
    # The next run (URL now healthy) downloads it completely.
    fixed = download_sources([entry("cut-short", f"{base}/workout.mp4")], tmp_path,
                             progress=False, retries=1)
    assert fixed[0].ok and not fixed[0].skipped
    assert (tmp_path / "cut-short.mp4").read_bytes() == (root / "workout.mp4").read_bytes()


def test_shipped_manifest_is_valid():
    sources = load_sources(REPO / "annotations" / "sources.yaml")
    assert sources and all(s.url.startswith("https://") and s.license for s in sources)
    assert len({s.id for s in sources}) == len(sources)


def test_manifest_errors_name_the_entry_and_field(tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text("format_version: 1\nvideos:\n  - id: a\n    url: https://x.org/v\n"
                   "    creator: c\n    title: t\n")
    with pytest.raises(SourceFormatError, match=r"videos/0.*'license' is a required property"):
        load_sources(bad)
    bad.write_text("format_version: 1\nvideos:\n" + "".join(
        f"  - {{id: a, url: 'https://x.org/{i}', creator: c, license: l, title: t}}\n" for i in range(2)))
    with pytest.raises(SourceFormatError, match="duplicate id 'a'"):
        load_sources(bad)


def test_schema_file_is_generated_from_the_code():
    on_disk = json.loads((REPO / "schemas" / "sources.schema.json").read_text())
    assert on_disk == SOURCES_SCHEMA, \
        "regenerate: python -m olympia.video.manifest > schemas/sources.schema.json"


def test_cli_download_reports_failures_and_skips_finished(server, tmp_path):
    from click.testing import CliRunner

    from olympia.cli import main
    base, _ = server
    manifest = tmp_path / "sources.yaml"
    manifest.write_text(
        "format_version: 1\nvideos:\n"
        f"  - {{id: good, url: '{base}/workout.mp4', creator: c, license: CC0, title: t}}\n"
        f"  - {{id: gone, url: '{base}/missing.mp4', creator: c, license: CC0, title: t}}\n")
    out = tmp_path / "videos"
    args = ["videos", "download", str(manifest), "--out", str(out), "--quiet", "--retries", "1"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1
    assert "good: downloaded" in r.output and "1 videos ready, 1 failed" in r.output
    assert "gone" in r.output and "404" in r.output
    r = CliRunner().invoke(main, args + ["--only", "good"])
    assert r.exit_code == 0 and "good: already done" in r.output
    r = CliRunner().invoke(main, args + ["--only", "nope"])
    assert r.exit_code == 2 and "nope" in r.output
