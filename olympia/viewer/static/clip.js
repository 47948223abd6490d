/* Olympia viewer: one clip. The animated skeleton with its player, the clip's facts, and the
   timeline / joint-height trace / motion image on one time axis. */
"use strict";
(function () {
  const SPEEDS = [0.25, 0.5, 1, 2, 4];
  let player = null;       // the clip on screen: {stop(), ...}

  function facts(meta, frames, fps) {
    const bounds = meta.rep_bounds || [];
    const rows = [
      ["label", OV.el("span", {}, OV.el("q", {}, meta.label_raw), " → ", OV.el("b", { id: "clip-label" }, meta.label))],
      ["reps", OV.el("span", { id: "clip-reps" }, meta.reps === null ? "unknown" : String(meta.reps),
        OV.el("span", { class: "muted" }, ` · ${bounds.length} rep span${bounds.length === 1 ? "" : "s"}`),
        meta.reps !== null && bounds.length && bounds.length !== meta.reps
          ? OV.el("span", { class: "warn" }, " (spans ≠ reps)") : null)],
      ["duration", `${(frames / fps).toFixed(2)} s · ${frames} frames at ${fps} fps (source ${meta.source_fps} fps)`],
      ["source", meta.source], ["subject", meta.subject], ["camera", meta.camera === null ? "–" : meta.camera],
      ["split", `${meta.split} (group ${meta.split_group})`],
      ["pose estimator", `${meta.pose_estimator} ${meta.pose_estimator_version || ""}`.trim()],
      ["gap-filled", `${(100 * meta.gap_filled_fraction).toFixed(1)} % of frames`],
      ["source file", OV.el("span", { class: "mono" }, meta.provenance.source_file)],
      ["license", meta.provenance.license],
      ["sha256", OV.el("span", { class: "mono", title: meta.provenance.sha256 }, (meta.provenance.sha256 || "").slice(0, 16) + "…")],
    ];
    for (const [key, value] of Object.entries(meta.extra || {})) {
      rows.push(["extra · " + key, value === "" || value === null ? "–"
        : typeof value === "object" ? JSON.stringify(value) : String(value)]);
    }
    return OV.el("table", { class: "facts" }, rows.map(([k, v]) => OV.el("tr", {}, OV.el("th", {}, k), OV.el("td", {}, v))));
  }

  function legend() {
    const item = (side, text) => OV.el("span", { class: "legend-item" },
      OV.el("i", { style: `background:${OV.SIDE_COLOURS[side]}` }), text);
    return OV.el("div", { class: "legend" }, item("left", "left limbs"), item("right", "right limbs"),
      item("centre", "torso, head"), OV.el("span", { class: "muted" }, " · drag to rotate, wheel to zoom, z up"));
  }

  async function neighbours(id) {
    const ctx = OV.clipContext;
    if (!ctx || ctx.id !== id) return { prev: null, next: null, pos: null, total: null };
    const [prev, next] = await Promise.all([OV.tableIdAt(ctx.context, ctx.pos - 1), OV.tableIdAt(ctx.context, ctx.pos + 1)]);
    return { prev, next, pos: ctx.pos, total: ctx.context.total };
  }

  async function renderClip(id) {
    stop();
    const root = document.getElementById("view-clip");
    OV.fill(root, OV.el("p", { class: "muted" }, "loading " + id + " …"));
    let payload;
    try {
      payload = await OV.load(OV.clipKey(id), false);
    } catch (err) {
      OV.fill(root, OV.el("p", { class: "error" }, `No clip ${JSON.stringify(id)} in this release (${err.message}).`),
        OV.el("p", {}, OV.el("a", { href: "#/" }, "← back to the clips")));
      return;
    }
    const kp = await OV.decodeKeypoints(payload.keypoints);
    const meta = payload.meta, frames = payload.keypoints.frames, skeleton = OV.summary.skeleton, fps = skeleton.fps;
    const near = await neighbours(id);
    const back = OV.tableContext ? "#/" + (OV.tableContext.query ? "?" + OV.tableContext.query : "") : "#/";
    const step = (target) => {
      if (!target) return;
      OV.clipContext = { context: OV.clipContext.context, pos: near.pos + (target === near.next ? 1 : -1), id: target };
      OV.navigate("#/clip/" + encodeURIComponent(target));
    };

    const canvas = OV.el("canvas", { id: "skeleton", class: "skeleton", width: 560, height: 440 });
    const play = OV.el("button", { type: "button", id: "play", class: "play" }, "▶ play");
    const scrub = OV.el("input", { type: "range", id: "scrub", min: 0, max: frames - 1, value: 0, step: 1 });
    const readout = OV.el("span", { id: "frame-readout", class: "mono" });
    const speed = OV.el("select", { id: "speed" }, SPEEDS.map((s) => OV.el("option", { value: s, selected: s === 1 }, s + "×")));
    const perspective = OV.el("input", { type: "checkbox", id: "perspective", checked: true });
    const reset = OV.el("button", { type: "button", id: "reset-view", title: "3/4 view from the front, zoom 1" }, "reset view");
    const views = ["front", "side", "top"].map((name) => OV.el("button", { type: "button", class: "view-" + name,
      title: name === "top" ? "from above" : `from the body's ${name} (hips and shoulders)` }, name));
    const jointSelect = OV.el("select", { id: "trace-joint" }, OV.el("option", { value: "" }, "all joints (height − mean)"),
      skeleton.joints.map((name, j) => OV.el("option", { value: j }, name)));
    const timeline = OV.el("canvas", { id: "timeline", class: "timeline" });
    const trace = OV.el("canvas", { id: "trace", class: "trace" });
    const motion = OV.el("canvas", { id: "motion-image", class: "motion" });

    OV.fill(root,
      OV.el("div", { class: "clip-head" },
        OV.el("a", { href: back }, "← clips"),
        OV.el("h2", { id: "clip-id", class: "mono" }, id),
        OV.el("span", { class: "clip-nav" },
          near.pos !== null ? OV.el("span", { class: "muted" }, `${near.pos + 1} of ${near.total} `) : null,
          OV.el("button", { type: "button", id: "prev-clip", disabled: !near.prev, onclick: () => step(near.prev) }, "‹ prev"),
          OV.el("button", { type: "button", id: "next-clip", disabled: !near.next, onclick: () => step(near.next) }, "next ›"))),
      OV.el("div", { class: "clip-main" },
        OV.el("div", { class: "stage" }, canvas,
          OV.el("div", { class: "player" }, play, scrub, readout),
          OV.el("div", { class: "player" }, OV.el("label", {}, "speed ", speed),
            OV.el("label", {}, perspective, " perspective"), reset, OV.el("span", { class: "views" }, views)),
          legend()),
        OV.el("div", { class: "side" }, facts(meta, frames, fps))),
      OV.el("div", { class: "strip" },
        OV.el("h3", {}, "repetitions"), timeline,
        OV.el("h3", {}, "joint heights ", jointSelect), trace,
        OV.el("h3", {}, "motion image ", OV.el("span", { class: "muted" },
          "(method.md §6: 5 chains × 64 points, every 2nd frame; x y z as R G B, each scaled to the clip's range)")),
        motion));

    const view = new OV.SkeletonView(canvas, skeleton);
    view.setClip(kp, frames);
    const axis = new OV.TimeAxis(frames, fps);
    const bitmap = OV.motionImageBitmap(OV.motionImage(kp, frames, skeleton.chains));
    let traceImage = null, frame = 0;
    const redrawTrace = () => {
      traceImage = OV.renderTrace(trace, axis, kp, skeleton, meta.rep_bounds,
        jointSelect.value === "" ? null : Number(jointSelect.value));
    };
    const show = (f) => {
      frame = Math.max(0, Math.min(frames - 1, f));
      view.draw(frame);
      scrub.value = frame;
      const rep = meta.rep_bounds.findIndex(([s, e]) => frame >= s && frame < e);
      readout.textContent = `frame ${frame} / ${frames - 1} · ${(frame / fps).toFixed(2)} s` +
        (rep >= 0 ? ` · rep ${rep + 1}` : "");
      OV.drawTimeline(timeline, axis, meta.rep_bounds, frame);
      OV.drawTrace(trace, axis, traceImage, frame);
      OV.drawMotionImage(motion, axis, bitmap, skeleton.chain_names, frame);
    };
    redrawTrace();

    let playing = false, raf = 0, t0 = 0, f0 = 0;
    const tick = (now) => {
      if (!playing) return;
      const f = f0 + Math.floor(((now - t0) / 1000) * fps * Number(speed.value));
      show(f % frames);
      raf = requestAnimationFrame(tick);
    };
    const setPlaying = (on) => {
      playing = on;
      play.textContent = on ? "❚❚ pause" : "▶ play";
      cancelAnimationFrame(raf);
      if (on) {
        t0 = performance.now();
        f0 = frame;
        raf = requestAnimationFrame(tick);
      }
    };
    const seek = (f) => { setPlaying(false); show(f); };
    play.addEventListener("click", () => setPlaying(!playing));
    scrub.addEventListener("input", () => seek(Number(scrub.value)));
    speed.addEventListener("change", () => { if (playing) setPlaying(true); });
    perspective.addEventListener("change", () => { view.perspective = perspective.checked; view.draw(frame); });
    reset.addEventListener("click", () => view.resetView());
    views.forEach((button) => button.addEventListener("click", () => view.setView(button.textContent)));
    jointSelect.addEventListener("change", () => { redrawTrace(); show(frame); });
    for (const c of [timeline, trace, motion]) axis.attachSeek(c, seek);
    const onKey = (e) => {
      if (e.target.matches("input[type=search], input[type=number], select")) return;
      if (e.key === " ") { e.preventDefault(); setPlaying(!playing); }
      else if (e.key === "ArrowRight") seek(frame + (e.shiftKey ? 25 : 1));
      else if (e.key === "ArrowLeft") seek(frame - (e.shiftKey ? 25 : 1));
    };
    const onResize = () => { redrawTrace(); show(frame); };
    document.addEventListener("keydown", onKey);
    window.addEventListener("resize", onResize);
    player = { stop: () => { setPlaying(false); document.removeEventListener("keydown", onKey); window.removeEventListener("resize", onResize); } };
    show(0);
    OV.currentClip = { id, frames, meta, view, show, setPlaying, motionImage: () => OV.motionImage(kp, frames, skeleton.chains), keypoints: kp };
  }

  function stop() {
    if (player) player.stop();
    player = null;
    OV.currentClip = null;
  }

  OV.renderClip = renderClip;
  OV.stopClip = stop;
})();
