"""`olympia view`: the site's data (keypoint encoding, clip keys), its folder rules, and the page
itself in a real headless browser (Debian's chromium + chromium-driver, driven by selenium).

The browser tests build a small release whose counts are known by construction: demo clips of
one exercise per run (12 squat, 10 curl, 8 bent-over row, 6 lateral raise, reps 3-9) plus 4
"lab" clips with reps 20, 21, 22 and unknown, and two bad items that land in the quarantine.
"""
from __future__ import annotations

import dataclasses
import hashlib
import http.server
import json
import shutil
import socket
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from factories import make_clip
from olympia.cli import main as olympia_main
from olympia.demo import DemoConfig, generate_demo
from olympia.errors import OutputFolderError
from olympia.motion_image import motion_image
from olympia.schema import Rejected, make_clip_id
from olympia.store import write_store
from olympia.swap import replacing
from olympia.viewer import build_site
from olympia.viewer.export import clip_key, decode_keypoints, encode_keypoints
from olympia.viewer.site import MARKER

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "work" / "test-artifacts"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1360,1000", "--hide-scrollbars")


# ---------------------------------------------------------------------------------- data

def tree_bytes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_clip_key_is_fnv1a_64_of_the_id():
    # FNV-1a 64 test vectors (Fowler/Noll/Vo reference): "" -> cbf29ce484222325, "a" -> af63dc4c8601ec8c
    assert clip_key("") == "clips/cb/cbf29ce484222325"
    assert clip_key("a") == "clips/af/af63dc4c8601ec8c"


def test_keypoints_round_trip_in_millimetres():
    kp = np.zeros((3, 17, 3), np.float32)
    kp[:, 0, 2] = [1.0, 1.0004, 0.9996]         # root height: 1000 mm, 1000 mm, 1000 mm after rounding
    kp[:, 16, 0] = [0.0, 0.0125, -0.0125]       # right wrist x: 0, 12.5 -> 12 or 13, -12.5 -> -12 or -13
    enc = encode_keypoints(kp)
    assert enc["frames"] == 3 and enc["dtype"] == "int16" and len(enc["first"]) == 51
    assert enc["first"][2] == 1000               # joint 0, z
    back = decode_keypoints(enc)
    assert back.shape == (3, 17, 3) and back.dtype == np.float32
    assert np.abs(back - kp).max() <= 0.0005 + 1e-6
    np.testing.assert_allclose(back[:, 0, 2], [1.0, 1.0, 1.0], atol=1e-7)


def test_keypoints_wider_steps_use_int32():
    kp = np.zeros((2, 17, 3), np.float32)
    kp[1, 3, 1] = 40.0                           # a 40 m jump between frames: beyond int16 millimetres
    enc = encode_keypoints(kp)
    assert enc["dtype"] == "int32"
    np.testing.assert_allclose(decode_keypoints(enc), kp, atol=1e-6)


def test_site_layout_determinism_and_folder_rules(tmp_path):
    write_store(tmp_path / "store", [make_clip(i, n_frames=30) for i in range(5)], progress=False)
    out = tmp_path / "site"
    report = build_site(tmp_path / "store", out, progress=False, rows_per_block=2)
    assert report.clips == 5 and (out / "index.html").is_file() and (out / MARKER).is_file()
    assert sorted(p.name for p in (out / "data/rows").iterdir()) == \
        ["rows-00000.js", "rows-00001.js", "rows-00002.js"]           # 5 rows in blocks of 2
    assert (out / "data" / f"{clip_key('test:c0003')}.js").is_file()
    marker = json.loads((out / MARKER).read_text())
    assert marker["clips"] == 5 and marker["files"] == report.files == len(tree_bytes(out))
    first = tree_bytes(out)
    build_site(tmp_path / "store", out, progress=False, rows_per_block=2)   # replaces its own output
    assert tree_bytes(out) == first                                          # same release -> same bytes
    # no staging left behind (the store's lock file beside it stays, by design: olympia.swap)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(OutputFolderError, match="not an `olympia view` site"):
        build_site(tmp_path / "store", mine, progress=False)
    assert (mine / "notes.txt").read_text() == "keep me"
    build_site(tmp_path / "store", mine, progress=False, force=True)
    assert not (mine / "notes.txt").exists() and (mine / MARKER).is_file()
    with pytest.raises(OutputFolderError, match="holds the release"):
        build_site(tmp_path / "store", tmp_path, progress=False, force=True)
    with pytest.raises(OutputFolderError, match="inside the release"):
        build_site(tmp_path / "store", tmp_path / "store" / "site", progress=False)
    assert (tmp_path / "store/meta/info.json").is_file()
    with pytest.raises(KeyboardInterrupt):
        with replacing(out, force=True):                 # another writer holds the site's lock ...
            with pytest.raises(OutputFolderError, match="another olympia process"):
                build_site(tmp_path / "store", out, progress=False)
            raise KeyboardInterrupt                      # ... and is stopped before its swap
    assert tree_bytes(out) == first


def test_cli_refusal_is_one_line(tmp_path):
    write_store(tmp_path / "store", [make_clip(0)], progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other/a.txt").write_text("x")
    result = CliRunner().invoke(olympia_main, ["view", str(tmp_path / "store"), "--out", str(tmp_path / "other")])
    assert result.exit_code == 2 and "--force" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(olympia_main, ["view", str(tmp_path / "store"), "--out", str(tmp_path / "s"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 clips, 0 quarantined" in result.output


# ---------------------------------------------------------------------------------- browser

EXERCISE_COUNTS = {"squat": 12, "curl": 10, "bent_over_row": 8, "lateral_raise": 6}
LAB_REPS = (20, 21, 22, None)


def known_items():
    """36 demo clips (counts above, reps 3-9), 4 lab clips, 2 bad items (see module docstring)."""
    items = []
    for ex, n in EXERCISE_COUNTS.items():
        items += generate_demo(DemoConfig(n_clips=n, exercises=(ex,), reps_range=(3, 9), clips_per_subject=4))
    for i, (clip, reps) in enumerate(zip(generate_demo(DemoConfig(n_clips=4, exercises=("front_raise",))), LAB_REPS)):
        items.append(dataclasses.replace(clip, id=make_clip_id("lab", f"p{i}"), source="lab", reps=reps,
                                         rep_bounds=np.zeros((0, 2), int), split_group=f"lab:p{i}"))
    broken = dataclasses.replace(items[0], id=make_clip_id("lab", "broken"), source="lab")
    broken.keypoints = broken.keypoints.copy()
    broken.keypoints[5, 3] = np.nan
    items += [broken, Rejected("lab", "sessions.csv, row 7", "reps", "'x' is not an integer; write a count")]
    return items


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    from olympia.release import build_release

    root = tmp_path_factory.mktemp("viewer") / "release"
    build_release(root, known_items(), progress=False)
    return root


@pytest.fixture(scope="module")
def site(release):
    out = release.parent / "site"
    build_site(release, out, progress=False)
    return out


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -r requirements.lock)")
    from selenium.webdriver.chrome.service import Service

    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium / chromedriver not found: `make chromium` installs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="olympia-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, url: str, renders: int = 1):
    """Load `url` and wait until the app has drawn `renders` routes."""
    driver.get(url)
    return wait_renders(driver, renders)


def wait_renders(driver, at_least: int, timeout: float = 20):
    end = time.time() + timeout
    while time.time() < end:
        value = driver.execute_script("return Number(document.body.dataset.renders || 0)")
        if value >= at_least:
            return value
        time.sleep(0.05)
    raise AssertionError(f"page did not render (renders={value}); console: {driver.get_log('browser')}")


def navigate(driver, fragment: str):
    before = driver.execute_script("return Number(document.body.dataset.renders || 0)")
    driver.execute_script("location.hash = arguments[0]", fragment)
    wait_renders(driver, before + 1)


def severe(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def pager_total(driver) -> int:
    return int(driver.find_element("id", "pager-total").get_attribute("data-total"))


def canvas_digest(driver, canvas_id: str) -> str:
    return driver.execute_script(f"return document.getElementById('{canvas_id}').toDataURL()")


def test_page_loads_table_filters_and_sorting(browser, site, release):
    open_page(browser, (site / "index.html").as_uri())
    assert severe(browser) == []
    assert pager_total(browser) == 40
    assert len(browser.find_elements("css selector", "#clips-body tr")) == 40
    assert browser.find_element("id", "count-clips").text == "40"
    assert "null" not in browser.find_element("tag name", "body").text
    splits = json.loads((release / "meta/splits.json").read_text())["assignment"]
    train = sum(1 for s in splits.values() if s == "train")
    cases = [("?source=lab", 4), ("?source=demo", 36), ("?label=curl", 10), ("?label=row", 8),
             ("?label=rais", 0), ("?label=rais&match=substring", 10), ("?source=demo&label=squat", 12),
             ("?repsMin=20", 3), ("?repsMax=9", 36), ("?repsMin=21&repsMax=21", 1), ("?split=train", train)]
    for query, expected in cases:
        navigate(browser, "#/" + query)
        assert pager_total(browser) == expected, query
        assert len(browser.find_elements("css selector", "#clips-body tr")) == expected, query
    navigate(browser, "#/?sort=-reps")
    first = browser.find_elements("css selector", "#clips-body tr")[0].find_elements("tag name", "td")
    assert first[0].text == "lab:p2" and first[4].text == "22"
    # the filter controls drive the same state
    browser.find_element("id", "filter-reset").click()
    wait_renders(browser, 1)
    select = browser.find_element("id", "filter-source")
    before = int(browser.execute_script("return document.body.dataset.renders"))
    select.find_element("css selector", "option[value=lab]").click()
    wait_renders(browser, before + 1)
    assert pager_total(browser) == 4
    assert severe(browser) == []


def test_clip_view_draws_and_animates_the_skeleton(browser, site, release):
    open_page(browser, (site / "index.html").as_uri() + "#/?label=squat")
    row = browser.find_elements("css selector", "#clips-body tr")[0]
    clip_id = row.get_attribute("data-id")
    before = int(browser.execute_script("return document.body.dataset.renders"))
    row.click()
    wait_renders(browser, before + 1)
    assert browser.find_element("id", "clip-id").text == clip_id
    blank = browser.execute_script("""
        const c = document.createElement('canvas'); const s = document.getElementById('skeleton');
        c.width = s.width; c.height = s.height; const x = c.getContext('2d');
        x.fillStyle = '#fbfbfd'; x.fillRect(0, 0, c.width, c.height); return c.toDataURL();""")
    frame0 = canvas_digest(browser, "skeleton")
    assert frame0 != blank                                     # the skeleton is drawn
    coloured = browser.execute_script("""
        const c = document.getElementById('skeleton'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - d[i + 2]) > 80) n++; return n;""")
    assert coloured > 200                                      # orange/blue limb pixels
    browser.find_element("id", "play").click()
    time.sleep(0.8)
    browser.find_element("id", "play").click()
    frame = int(browser.find_element("id", "scrub").get_attribute("value"))
    assert frame > 0
    assert canvas_digest(browser, "skeleton") != frame0        # the skeleton moved
    browser.execute_script("const s = document.getElementById('scrub'); s.value = 40; s.dispatchEvent(new Event('input'))")
    assert "frame 40 /" in browser.find_element("id", "frame-readout").text
    # rep spans and the trace/motion image are drawn; reps shown as in the release
    from olympia.store import ClipStore

    store = ClipStore(release)
    meta = store.metadata().set_index("id").loc[clip_id]
    assert browser.find_element("id", "clip-reps").text.startswith(f"{int(meta['reps'])} ")
    for canvas in ("timeline", "trace", "motion-image"):
        assert browser.execute_script(f"return document.getElementById('{canvas}').width") > 0
    # the page's motion image is olympia.motion_image's, on the keypoints the site holds
    js = browser.execute_script("""
        const m = OV.currentClip.motionImage(); const out = [];
        for (let i = 0; i < m.data.length; i += 97) out.push(m.data[i]);
        return {rows: m.rows, cols: m.cols, sample: out};""")
    encoded = json.loads((site / "data" / f"{clip_key(clip_id)}.js").read_text().split(",", 1)[1].rsplit(");", 1)[0])
    kp = decode_keypoints(encoded["keypoints"])
    assert np.abs(kp - store.keypoints(clip_id)).max() <= 0.0005 + 1e-6
    expected = motion_image(kp)
    assert (js["rows"], js["cols"]) == expected.shape[:2]
    np.testing.assert_allclose(js["sample"], expected.reshape(-1)[::97], atol=1e-5)
    browser.set_window_size(1360, 1400)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "viewer.png"))
    browser.save_screenshot(str(site.parent / "viewer.png"))
    browser.set_window_size(1360, 1000)
    assert severe(browser) == []


def test_page_decoders_agree_with_python(browser, site):
    open_page(browser, (site / "index.html").as_uri())
    ids = ["", "a", "demo:s0001:0001:situp", "lab:größe:ü"]
    assert browser.execute_script("return arguments[0].map(OV.clipKey)", ids) == [clip_key(i) for i in ids]
    kp = np.zeros((4, 17, 3), np.float32)
    kp[:, 2, 1] = [0.0, 40.0, -3.25, 0.001]     # steps beyond int16 millimetres: the int32 path
    for case in (kp, kp / 1000):                  # and the int16 path
        enc = encode_keypoints(case)
        got = browser.execute_async_script(
            "OV.decodeKeypoints(arguments[0]).then((a) => arguments[1](Array.from(a)))", enc)
        np.testing.assert_allclose(np.reshape(got, (4, 17, 3)), decode_keypoints(enc), atol=1e-7)
    assert severe(browser) == []


def test_prev_next_follow_the_table(browser, site):
    open_page(browser, (site / "index.html").as_uri() + "#/?source=lab")
    ids = [r.get_attribute("data-id") for r in browser.find_elements("css selector", "#clips-body tr")]
    before = int(browser.execute_script("return document.body.dataset.renders"))
    browser.find_elements("css selector", "#clips-body tr")[1].click()
    wait_renders(browser, before + 1)
    before += 1
    browser.find_element("id", "next-clip").click()
    wait_renders(browser, before + 1)
    assert browser.find_element("id", "clip-id").text == ids[2]
    navigate(browser, "#/clip/no:such:clip")
    assert "No clip" in browser.find_element("id", "view-clip").text
    browser.get_log("browser")     # the missing clip's script 404 is expected here


def test_quarantine_lists_every_entry(browser, site, release):
    open_page(browser, (site / "index.html").as_uri() + "#/quarantine")
    entries = json.loads((release / "meta/quarantine.json").read_text())
    assert len(entries) == 2
    rows = browser.find_elements("css selector", "#quarantine-body tr")
    assert len(rows) == 2
    text = browser.find_element("id", "view-quarantine").text
    assert "sessions.csv, row 7" in text and "'x' is not an integer" in text
    assert "keypoints" in text and "NaN" in text and "null" not in text
    assert severe(browser) == []


def test_paging_a_release_larger_than_a_page(browser, tmp_path):
    labels = ("squat", "lunge")
    clips = [make_clip(i, n_frames=12, label=labels[i % 2], subject=f"s{i % 9}") for i in range(250)]
    write_store(tmp_path / "store", clips, progress=False)
    build_site(tmp_path / "store", tmp_path / "site", progress=False, rows_per_block=64)
    ids = sorted(c.id for c in clips)
    open_page(browser, (tmp_path / "site/index.html").as_uri())
    assert pager_total(browser) == 250
    assert len(browser.find_elements("css selector", "#clips-body tr")) == 100
    before = int(browser.execute_script("return document.body.dataset.renders"))
    browser.find_element("css selector", "#pager .page-next").click()
    wait_renders(browser, before + 1)
    rows = browser.find_elements("css selector", "#clips-body tr")
    assert [r.get_attribute("data-id") for r in rows] == ids[100:200]       # spans blocks 1-3 of 64
    navigate(browser, "#/?page=3")
    assert [r.get_attribute("data-id") for r in browser.find_elements("css selector", "#clips-body tr")] == ids[200:]
    navigate(browser, "#/?label=lunge&page=2")                               # every block, filtered
    assert pager_total(browser) == 125
    assert len(browser.find_elements("css selector", "#clips-body tr")) == 25
    assert severe(browser) == []


def test_served_over_http(browser, site):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a, **k: None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        open_page(browser, f"http://127.0.0.1:{port}/index.html#/?source=demo")
        assert pager_total(browser) == 36
        navigate(browser, "#/clip/" + browser.find_elements("css selector", "#clips-body tr")[0].get_attribute("data-id"))
        assert browser.find_element("id", "clip-label").text
        assert severe(browser) == []
    finally:
        server.shutdown()
        server.server_close()
