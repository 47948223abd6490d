/* Olympia viewer: the clip's time axis. A timeline with the repetition spans, the joint-height
   trace and the motion image share one x axis (frames), so a rep boundary lines up in all
   three; clicking or dragging on any of them moves the current frame. */
"use strict";
(function () {
  const PAD_LEFT = 92, PAD_RIGHT = 14;
  const REP_FILL = ["rgba(59, 125, 216, 0.16)", "rgba(59, 125, 216, 0.30)"];
  const CURSOR = "#d23c3c";

  function fit(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx, w, h, dpr };
  }

  /* A strip of canvases over frames [0, frames): x(frame) is the same in each. */
  class TimeAxis {
    constructor(frames, fps) {
      this.frames = frames;
      this.fps = fps;
    }
    x(frame, w) {
      return PAD_LEFT + (frame / this.frames) * (w - PAD_LEFT - PAD_RIGHT);
    }
    frameAt(px, w) {
      const f = ((px - PAD_LEFT) / (w - PAD_LEFT - PAD_RIGHT)) * this.frames;
      return Math.max(0, Math.min(this.frames - 1, Math.floor(f)));
    }
    /* click or drag on `canvas` calls seek(frame) */
    attachSeek(canvas, seek) {
      let down = false;
      const go = (e) => seek(this.frameAt(e.offsetX, canvas.clientWidth));
      canvas.addEventListener("pointerdown", (e) => { down = true; canvas.setPointerCapture(e.pointerId); go(e); });
      canvas.addEventListener("pointermove", (e) => { if (down) go(e); });
      canvas.addEventListener("pointerup", () => { down = false; });
    }
    spans(ctx, w, top, height, repBounds) {
      repBounds.forEach(([s, e], i) => {
        ctx.fillStyle = REP_FILL[i % 2];
        ctx.fillRect(this.x(s, w), top, this.x(e, w) - this.x(s, w), height);
        ctx.fillStyle = "rgba(59, 125, 216, 0.9)";
        ctx.fillRect(this.x(s, w), top, 1, height);
      });
    }
    cursor(ctx, w, top, height, frame) {
      const x = Math.round(this.x(frame + 0.5, w)) + 0.5;
      ctx.strokeStyle = CURSOR;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
    }
  }

  /* Timeline: seconds ticks, repetition spans numbered 1..R, the current frame. */
  function drawTimeline(canvas, axis, repBounds, frame) {
    const { ctx, w, h } = fit(canvas);
    ctx.clearRect(0, 0, w, h);
    const top = 4, band = h - 22;
    ctx.fillStyle = "#f1f2f6";
    ctx.fillRect(axis.x(0, w), top, axis.x(axis.frames, w) - axis.x(0, w), band);
    axis.spans(ctx, w, top, band, repBounds);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillStyle = "#1d3f73";
    repBounds.forEach(([s, e], i) => {
      const mid = (axis.x(s, w) + axis.x(e, w)) / 2;
      if (axis.x(e, w) - axis.x(s, w) > 12) ctx.fillText(String(i + 1), mid, top + band / 2 + 4);
    });
    ctx.fillStyle = "#666";
    const seconds = axis.frames / axis.fps;
    const step = [1, 2, 5, 10, 15, 30, 60, 120].find((s) => seconds / s <= 12) || 300;
    for (let t = 0; t <= seconds + 1e-9; t += step) {
      const x = axis.x(t * axis.fps, w);
      ctx.fillRect(x, top + band, 1, 4);
      ctx.fillText(t + " s", x, h - 3);
    }
    ctx.textAlign = "left";
    ctx.fillStyle = "#333";
    ctx.fillText(`${repBounds.length} rep span${repBounds.length === 1 ? "" : "s"}`, 6, top + band / 2 + 4);
    axis.cursor(ctx, w, top, band, frame);
  }

  /* Joint heights over time: every joint's z minus its mean (thin, coloured by side), or one
     joint's height above the clip's lowest point. Drawn once into an offscreen canvas. */
  function renderTrace(canvas, axis, kp, skeleton, repBounds, joint) {
    const { w, h, dpr } = fit(canvas);
    const off = document.createElement("canvas");
    off.width = canvas.width;
    off.height = canvas.height;
    const ctx = off.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const n = axis.frames, top = 8, height = h - 28;
    const joints = joint === null ? skeleton.joints.map((_, j) => j) : [joint];
    const series = joints.map((j) => {
      const z = new Float64Array(n);
      for (let t = 0; t < n; t++) z[t] = kp[(t * 17 + j) * 3 + 2];
      return z;
    });
    let floor = Infinity;
    for (let i = 2; i < kp.length; i += 3) floor = Math.min(floor, kp[i]);
    for (const z of series) {
      const shift = joint === null ? z.reduce((a, b) => a + b, 0) / n : floor;
      for (let t = 0; t < n; t++) z[t] -= shift;
    }
    let lo = Infinity, hi = -Infinity;
    for (const z of series) for (const v of z) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (hi - lo < 1e-6) { lo -= 0.05; hi += 0.05; }
    const pad = (hi - lo) * 0.06;
    lo -= pad; hi += pad;
    const y = (v) => top + (1 - (v - lo) / (hi - lo)) * height;
    axis.spans(ctx, w, top, height, repBounds);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    const tick = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1].find((s) => (hi - lo) / s <= 6) || 2;
    for (let k = Math.ceil(lo / tick); k * tick <= hi; k++) {
      const v = k * tick;
      ctx.fillStyle = "rgba(0, 0, 0, 0.09)";
      ctx.fillRect(axis.x(0, w), Math.round(y(v)), w - PAD_LEFT - PAD_RIGHT, 1);
      ctx.fillStyle = "#666";
      ctx.fillText((k === 0 ? 0 : v).toFixed(tick < 0.1 ? 2 : 1) + " m", PAD_LEFT - 6, y(v) + 4);
    }
    ctx.save();
    ctx.translate(14, top + height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(joint === null ? "height − mean" : `${skeleton.joints[joint]} height`, 0, 0);
    ctx.restore();
    series.forEach((z, k) => {
      const j = joints[k];
      ctx.strokeStyle = OV.SIDE_COLOURS[skeleton.side[j]];
      ctx.globalAlpha = joint === null ? 0.75 : 1;
      ctx.lineWidth = joint === null ? 1 : 1.8;
      ctx.beginPath();
      for (let t = 0; t < n; t++) {
        const px = axis.x(t + 0.5, w);
        if (t === 0) ctx.moveTo(px, y(z[t])); else ctx.lineTo(px, y(z[t]));
      }
      ctx.stroke();
    });
    ctx.globalAlpha = 1;
    return { image: off, top, height };
  }

  function drawTrace(canvas, axis, rendered, frame) {
    const { ctx, w, h } = fit(canvas);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(rendered.image, 0, 0);
    ctx.setTransform(window.devicePixelRatio || 1, 0, 0, window.devicePixelRatio || 1, 0, 0);
    axis.cursor(ctx, w, rendered.top, rendered.height, frame);
  }

  /* The motion image of method.md §6, as olympia/motion_image.py computes it: frames smoothed
     by a 3-frame moving average and kept at t = 0, 2, 4, ...; each of the five kinematic
     chains resampled to `points` evenly spaced points along the chain (linear between joints).
     Returns {data: Float32Array rows*cols*3 (row-major, x y z per pixel), rows, cols}. */
  function motionImage(kp, frames, chains, points = 64) {
    const J = 17, C = J * 3, cols = Math.ceil(frames / 2);
    const smooth = new Float64Array(cols * C);
    for (let k = 0; k < cols; k++) {
      const t = 2 * k;
      for (let c = 0; c < C; c++) {
        let sum = kp[t * C + c], count = 1;
        if (t > 0) { sum += kp[(t - 1) * C + c]; count++; }
        if (t + 1 < frames) { sum += kp[(t + 1) * C + c]; count++; }
        smooth[k * C + c] = sum / count;
      }
    }
    const rows = points * chains.length;
    const data = new Float32Array(rows * cols * 3);
    chains.forEach((chain, ci) => {
      for (let p = 0; p < points; p++) {
        const s = (p * (chain.length - 1)) / (points - 1);
        const seg = Math.min(Math.floor(s), chain.length - 2);
        const f = s - seg, a = chain[seg], b = chain[seg + 1];
        const rowBase = (ci * points + p) * cols * 3;
        for (let col = 0; col < cols; col++) {
          for (let ch = 0; ch < 3; ch++) {
            data[rowBase + col * 3 + ch] = (1 - f) * smooth[col * C + a * 3 + ch] + f * smooth[col * C + b * 3 + ch];
          }
        }
      }
    });
    return { data, rows, cols };
  }

  /* x, y, z as R, G, B, each scaled to its own range within the clip (as `olympia show`). */
  function motionImageBitmap(mi) {
    const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < mi.data.length; i++) {
      const ch = i % 3;
      if (mi.data[i] < lo[ch]) lo[ch] = mi.data[i];
      if (mi.data[i] > hi[ch]) hi[ch] = mi.data[i];
    }
    const pixels = new ImageData(mi.cols, mi.rows);
    for (let i = 0, o = 0; i < mi.data.length; i += 3, o += 4) {
      for (let ch = 0; ch < 3; ch++) {
        pixels.data[o + ch] = Math.round((255 * (mi.data[i + ch] - lo[ch])) / Math.max(hi[ch] - lo[ch], 1e-6));
      }
      pixels.data[o + 3] = 255;
    }
    const off = document.createElement("canvas");
    off.width = mi.cols;
    off.height = mi.rows;
    off.getContext("2d").putImageData(pixels, 0, 0);
    return off;
  }

  function drawMotionImage(canvas, axis, bitmap, chainNames, frame) {
    const { ctx, w, h } = fit(canvas);
    ctx.clearRect(0, 0, w, h);
    const top = 2, height = h - 4;
    ctx.imageSmoothingEnabled = false;
    // column k holds frame 2k (and its neighbours): cols columns span 2*cols frames
    ctx.drawImage(bitmap, axis.x(0, w), top, axis.x(2 * bitmap.width, w) - axis.x(0, w), height);
    ctx.fillStyle = "#fff";
    ctx.fillRect(w - PAD_RIGHT, 0, PAD_RIGHT, h);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    chainNames.forEach((name, i) => {
      const y0 = top + (height * i) / chainNames.length;
      ctx.fillStyle = "#444";
      ctx.fillText(name.replace("_", " "), PAD_LEFT - 6, y0 + height / chainNames.length / 2 + 4);
      if (i) {
        ctx.fillStyle = "rgba(255,255,255,0.8)";
        ctx.fillRect(axis.x(0, w), Math.round(y0), w - PAD_LEFT - PAD_RIGHT, 1);
      }
    });
    axis.cursor(ctx, w, top, height, frame);
  }

  OV.TimeAxis = TimeAxis;
  OV.drawTimeline = drawTimeline;
  OV.renderTrace = renderTrace;
  OV.drawTrace = drawTrace;
  OV.motionImage = motionImage;
  OV.motionImageBitmap = motionImageBitmap;
  OV.drawMotionImage = drawMotionImage;
})();
