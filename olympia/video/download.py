"""Download the videos of a sources manifest with yt-dlp's Python API.

Manifest: annotations/sources.yaml, read by olympia.video.manifest.load_sources (id, url,
creator, license, title, notes). Output directory layout:

  <id>.mp4            the video (best format with height <= 720, mp4; merged by ffmpeg if needed)
  <id>.info.json      yt-dlp's info JSON, kept as provenance
  archive.txt         yt-dlp's download archive: finished videos are skipped by yt-dlp itself
  downloads.json      our record per id: url, file, sha256, bytes, license (written atomically)

A video counts as done only when it is in downloads.json *and* its file exists with the recorded
size. yt-dlp writes to `<id>.mp4.part` and renames at the end, so an interrupted or truncated
transfer never produces `<id>.mp4`, never reaches the archive or downloads.json, and is resumed
or restarted on the next run. A URL that fails gives a per-item error; the others go on.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from olympia.io import atomic_write_json, read_json
from olympia.io import sha256_file
from olympia.video.manifest import SourceVideo, load_sources  # noqa: F401  (re-exported)

RECORDS = "downloads.json"
ARCHIVE = "archive.txt"
MAX_HEIGHT = 720


@dataclass
class DownloadOutcome:
    source: SourceVideo
    path: str = ""         # the finished file ("" on failure)
    sha256: str = ""
    skipped: bool = False  # already done before this run
    error: str = ""        # one line; "" on success

    @property
    def ok(self) -> bool:
        return not self.error


def load_records(out_dir) -> dict:
    path = Path(out_dir) / RECORDS
    if not path.is_file():
        return {}
    return read_json(path, "download records (delete the file to rebuild it from the finished videos)")


def write_records(out_dir, records: dict) -> None:
    atomic_write_json(Path(out_dir) / RECORDS, records, indent=1)


def is_done(record: dict | None, out_dir) -> bool:
    if not record:
        return False
    file = Path(out_dir) / record["file"]
    return file.is_file() and file.stat().st_size == record["bytes"]


class _QuietLogger:
    """yt-dlp logger that keeps stderr clean: errors come back as DownloadOutcome.error."""

    def debug(self, msg):
        pass

    info = warning = error = debug


def ydl_options(out_dir: Path, source_id: str, *, retries: int = 3,
                max_height: int = MAX_HEIGHT, socket_timeout: float = 30.0) -> dict:
    """yt-dlp options for one manifest entry: <= max_height mp4, archive, info JSON, retries."""
    h = int(max_height)
    return {
        "format": (f"bv*[height<=?{h}][ext=mp4]+ba[ext=m4a]/b[height<=?{h}][ext=mp4]"
                   f"/bv*[height<=?{h}]+ba/b[height<=?{h}]"),
        "merge_output_format": "mp4",
        "outtmpl": str(out_dir / f"{source_id}.%(ext)s"),
        "download_archive": str(out_dir / ARCHIVE),
        "writeinfojson": True,
        "retries": retries, "fragment_retries": retries, "extractor_retries": retries,
        "socket_timeout": socket_timeout,
        "continuedl": True, "nopart": False, "noplaylist": True,
        "quiet": True, "no_warnings": True, "noprogress": True, "logger": _QuietLogger(),
    }


def _finished_file(out_dir: Path, source_id: str) -> Path | None:
    for path in sorted(out_dir.glob(f"{source_id}.*")):
        if path.suffix in (".part", ".ytdl", ".json", ".tmp") or ".part" in path.suffixes:
            continue
        return path
    return None


def download_one(source: SourceVideo, out_dir, records: dict, **options) -> DownloadOutcome:
    """Download one manifest entry unless it is done; never raises for a failing URL."""
    import yt_dlp
    out_dir = Path(out_dir)
    if is_done(records.get(source.id), out_dir):
        rec = records[source.id]
        return DownloadOutcome(source, str(out_dir / rec["file"]), rec["sha256"], skipped=True)
    try:
        with yt_dlp.YoutubeDL(ydl_options(out_dir, source.id, **options)) as ydl:
            ydl.download([source.url])
    except yt_dlp.utils.DownloadError as exc:
        msg = str(exc).replace("ERROR: ", "").strip().splitlines()[0]
        return DownloadOutcome(source, error=f"{source.id} ({source.url}): download failed: "
                                             f"{msg}; check the URL or retry later")
    path = _finished_file(out_dir, source.id)
    if path is None:
        return DownloadOutcome(source, error=f"{source.id} ({source.url}): yt-dlp finished but no "
                               f"file {source.id}.* exists (already in {ARCHIVE}? remove its "
                               "line there to download again)")
    digest = sha256_file(path)
    info = out_dir / f"{source.id}.info.json"
    records[source.id] = {"url": source.url, "file": path.name, "sha256": digest,
                          "bytes": path.stat().st_size, "license": source.license,
                          "creator": source.creator, "title": source.title,
                          "info_json": info.name if info.is_file() else "",
                          "downloaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return DownloadOutcome(source, str(path), digest)


def download_sources(sources: list[SourceVideo], out_dir, *, progress: bool = True,
                     **options) -> list[DownloadOutcome]:
    """Download every entry; records are saved after each finished video."""
    from tqdm import tqdm
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = load_records(out_dir)
    outcomes = []
    for source in tqdm(sources, desc="download", unit="video", disable=not progress):
        outcome = download_one(source, out_dir, records, **options)
        if outcome.ok and not outcome.skipped:
            write_records(out_dir, records)
        outcomes.append(outcome)
    return outcomes
