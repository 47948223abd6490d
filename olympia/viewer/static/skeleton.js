/* Olympia viewer: a 3D skeleton on a 2D canvas. z is up; the camera orbits the clip's centre
   (drag to rotate, wheel to zoom); perspective or orthographic projection; a floor grid at the
   clip's lowest joint and the skeleton's shadow on it give depth. */
"use strict";
(function () {
  const COLOURS = { left: "#d8643b", right: "#3b7dd8", centre: "#5b6270" };
  // views relative to the body's front (see _facing): a 3/4 view from the front-right by default
  const VIEWS = { default: [30, 12], front: [0, 4], side: [90, 4], top: [0, 89] };

  class SkeletonView {
    constructor(canvas, skeleton) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.skeleton = skeleton;
      this.perspective = true;
      this.front = 0;
      this.view = { azimuth: VIEWS.default[0], elevation: VIEWS.default[1], zoom: 1 };
      this.kp = null;
      this.frame = 0;
      this.onchange = null;
      this._dragging = null;
      canvas.addEventListener("pointerdown", (e) => this._down(e));
      canvas.addEventListener("pointermove", (e) => this._move(e));
      canvas.addEventListener("pointerup", (e) => this._up(e));
      canvas.addEventListener("pointercancel", (e) => this._up(e));
      canvas.addEventListener("wheel", (e) => this._wheel(e), { passive: false });
    }

    /* kp: Float32Array T*17*3 (metres). Fixes the orbit centre and scale for the clip. */
    setClip(kp, frames) {
      this.kp = kp;
      this.frames = frames;
      const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
      for (let i = 0; i < kp.length; i += 3) {
        for (let a = 0; a < 3; a++) {
          lo[a] = Math.min(lo[a], kp[i + a]);
          hi[a] = Math.max(hi[a], kp[i + a]);
        }
      }
      this.floor = lo[2];
      this.centre = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
      this.radius = Math.max(0.5, 0.5 * Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]));
      this.bounds = { lo, hi };
      this.front = this._facing();
      this.setView("default");
    }

    /* Azimuth (degrees) from which the body is seen from the front: the camera's right is the
       body's left (hips and shoulders, left minus right, averaged over the clip). */
    _facing() {
      const j = (name) => this.skeleton.joints.indexOf(name), kp = this.kp;
      const pairs = [[j("l_hip"), j("r_hip")], [j("l_shoulder"), j("r_shoulder")]];
      let lx = 0, ly = 0;
      for (let t = 0; t < this.frames; t++) {
        for (const [l, r] of pairs) {
          lx += kp[(t * 17 + l) * 3] - kp[(t * 17 + r) * 3];
          ly += kp[(t * 17 + l) * 3 + 1] - kp[(t * 17 + r) * 3 + 1];
        }
      }
      return Math.hypot(lx, ly) > 1e-9 ? (Math.atan2(ly, lx) * 180) / Math.PI : 0;
    }

    /* name: default (3/4 view), front, side or top; the zoom returns to 1 */
    setView(name) {
      const [azimuth, elevation] = VIEWS[name];
      this.view = { azimuth: this.front + azimuth, elevation, zoom: 1 };
      this.draw(this.frame);
    }

    resetView() {
      this.setView("default");
    }

    /* world point -> [screen x, screen y, depth] */
    _project(x, y, z, geom) {
      const rx = x - this.centre[0], ry = y - this.centre[1], rz = z - this.centre[2];
      const x1 = rx * geom.ca + ry * geom.sa;           // right
      const y1 = -rx * geom.sa + ry * geom.ca;          // away from the camera
      const depth = y1 * geom.ce - rz * geom.se;
      const up = rz * geom.ce + y1 * geom.se;
      const s = this.perspective ? geom.focal / (geom.distance + depth) : geom.focal / geom.distance;
      return [geom.cx + x1 * s, geom.cy - up * s, depth];
    }

    _geometry() {
      const dpr = window.devicePixelRatio || 1;
      const w = this.canvas.clientWidth || this.canvas.width, h = this.canvas.clientHeight || this.canvas.height;
      if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
        this.canvas.width = Math.round(w * dpr);
        this.canvas.height = Math.round(h * dpr);
      }
      const az = (this.view.azimuth * Math.PI) / 180, el = (this.view.elevation * Math.PI) / 180;
      const distance = this.radius * 3.2;
      // at zoom 1 the clip's bounding sphere, seen at its centre's depth, spans 84% of the smaller side
      const focal = (0.42 * Math.min(w, h) * dpr * this.view.zoom * distance) / this.radius;
      return { dpr, w: w * dpr, h: h * dpr, cx: (w * dpr) / 2, cy: (h * dpr) / 2, distance, focal,
               ca: Math.cos(az), sa: Math.sin(az), ce: Math.cos(el), se: Math.sin(el) };
    }

    draw(frame) {
      if (!this.kp) return;
      this.frame = Math.max(0, Math.min(this.frames - 1, frame | 0));
      const g = this._geometry(), ctx = this.ctx;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = "#fbfbfd";
      ctx.fillRect(0, 0, g.w, g.h);
      this._drawFloor(g);
      const base = this.frame * 17 * 3, kp = this.kp;
      const pts = [], shadow = [];
      for (let j = 0; j < 17; j++) {
        const x = kp[base + 3 * j], y = kp[base + 3 * j + 1], z = kp[base + 3 * j + 2];
        pts.push(this._project(x, y, z, g));
        shadow.push(this._project(x, y, this.floor, g));
      }
      ctx.lineCap = "round";
      ctx.strokeStyle = "rgba(40, 40, 60, 0.13)";
      ctx.lineWidth = 4 * g.dpr;
      for (const [p, c] of this.skeleton.bones) this._line(shadow[p], shadow[c]);
      // painter's order: far bones first
      const bones = this.skeleton.bones.map(([p, c]) => ({ p, c, depth: (pts[p][2] + pts[c][2]) / 2 }));
      bones.sort((a, b) => b.depth - a.depth);
      for (const bone of bones) {
        ctx.strokeStyle = COLOURS[this.skeleton.side[bone.c]];
        ctx.lineWidth = this._width(bone.depth, g, 5);
        this._line(pts[bone.p], pts[bone.c]);
      }
      for (let j = 0; j < 17; j++) {
        ctx.fillStyle = COLOURS[this.skeleton.side[j]];
        ctx.beginPath();
        const r = this._width(pts[j][2], g, this.skeleton.joints[j] === "head" ? 7 : 3.2);
        ctx.arc(pts[j][0], pts[j][1], r, 0, 2 * Math.PI);
        ctx.fill();
      }
      this._drawAxes(g);
    }

    _width(depth, g, px) {
      const s = this.perspective ? g.distance / (g.distance + depth) : 1;
      return Math.max(1, px * g.dpr * s * Math.sqrt(this.view.zoom));
    }

    _line(a, b) {
      this.ctx.beginPath();
      this.ctx.moveTo(a[0], a[1]);
      this.ctx.lineTo(b[0], b[1]);
      this.ctx.stroke();
    }

    _drawFloor(g) {
      const step = 0.5, { lo, hi } = this.bounds, ctx = this.ctx;
      const x0 = Math.floor((lo[0] - 0.5) / step) * step, x1 = Math.ceil((hi[0] + 0.5) / step) * step;
      const y0 = Math.floor((lo[1] - 0.5) / step) * step, y1 = Math.ceil((hi[1] + 0.5) / step) * step;
      ctx.strokeStyle = "#e2e4ea";
      ctx.lineWidth = g.dpr;
      for (let x = x0; x <= x1 + 1e-9; x += step) this._line(this._project(x, y0, this.floor, g), this._project(x, y1, this.floor, g));
      for (let y = y0; y <= y1 + 1e-9; y += step) this._line(this._project(x0, y, this.floor, g), this._project(x1, y, this.floor, g));
    }

    /* a small x/y/z gizmo in the lower-left corner, rotating with the view */
    _drawAxes(g) {
      const ctx = this.ctx, len = 22 * g.dpr, ox = 30 * g.dpr, oy = g.h - 30 * g.dpr;
      const axes = [["x", [1, 0, 0], "#c0392b"], ["y", [0, 1, 0], "#27ae60"], ["z", [0, 0, 1], "#2c3e99"]];
      ctx.font = `${11 * g.dpr}px system-ui, sans-serif`;
      ctx.lineWidth = 2 * g.dpr;
      for (const [name, [x, y, z], colour] of axes) {
        const sx = x * g.ca + y * g.sa, depthY = -x * g.sa + y * g.ca;
        const up = z * g.ce + depthY * g.se;
        ctx.strokeStyle = ctx.fillStyle = colour;
        this._line([ox, oy], [ox + sx * len, oy - up * len]);
        ctx.fillText(name, ox + sx * (len + 7 * g.dpr) - 3 * g.dpr, oy - up * (len + 7 * g.dpr) + 4 * g.dpr);
      }
    }

    _down(e) {
      this._dragging = { x: e.clientX, y: e.clientY, view: { ...this.view } };
      this.canvas.setPointerCapture(e.pointerId);
      this.canvas.classList.add("dragging");
    }

    _move(e) {
      if (!this._dragging) return;
      const d = this._dragging;
      this.view.azimuth = d.view.azimuth - (e.clientX - d.x) * 0.5;
      this.view.elevation = Math.max(-89, Math.min(89, d.view.elevation + (e.clientY - d.y) * 0.4));
      this.draw(this.frame);
      if (this.onchange) this.onchange();
    }

    _up(e) {
      this._dragging = null;
      this.canvas.classList.remove("dragging");
    }

    _wheel(e) {
      e.preventDefault();
      this.view.zoom = Math.max(0.3, Math.min(6, this.view.zoom * Math.exp(-e.deltaY * 0.0015)));
      this.draw(this.frame);
    }
  }

  OV.SkeletonView = SkeletonView;
  OV.SIDE_COLOURS = COLOURS;
})();
