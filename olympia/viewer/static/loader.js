/* Olympia viewer: data loading. Every data file is a script calling OV.register(key, payload)
   (a page opened from disk may not fetch() local files; a <script src> it may load). */
"use strict";
const OV = (window.OV = window.OV || {});
OV.data = {};
OV.pending = {};

OV.register = function (key, payload) {
  OV.data[key] = payload;
  const waiting = OV.pending[key];
  if (waiting) {
    delete OV.pending[key];
    waiting.resolve(payload);
  }
};

/* Load data/<key>.js once; resolves with its payload. `keep: false` drops it from the cache
   after delivery (clip keypoints: a curator may open hundreds). */
OV.load = function (key, keep = true) {
  if (key in OV.data) {
    const payload = OV.data[key];
    if (!keep) delete OV.data[key];
    return Promise.resolve(payload);
  }
  if (!OV.pending[key]) {
    let resolve, reject;
    const promise = new Promise((ok, fail) => { resolve = ok; reject = fail; });
    OV.pending[key] = { promise, resolve, reject };
    const script = document.createElement("script");
    script.src = "data/" + key + ".js";
    script.onload = () => {
      script.remove();
      const waiting = OV.pending[key];
      if (waiting) {
        delete OV.pending[key];
        waiting.reject(new Error("data/" + key + ".js did not register its data"));
      }
    };
    script.onerror = () => {
      script.remove();
      const waiting = OV.pending[key];
      delete OV.pending[key];
      if (waiting) waiting.reject(new Error("cannot load data/" + key + ".js (missing file?)"));
    };
    document.head.appendChild(script);
  }
  return OV.pending[key].promise.then((payload) => {
    if (!keep) delete OV.data[key];
    return payload;
  });
};

/* Same key as olympia/viewer/export.py clip_key: 64-bit FNV-1a of the UTF-8 id. */
OV.clipKey = function (clipId) {
  const mask = (1n << 64n) - 1n;
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(clipId)) {
    h = ((h ^ BigInt(byte)) * 0x100000001b3n) & mask;
  }
  const hex = h.toString(16).padStart(16, "0");
  return "clips/" + hex.slice(0, 2) + "/" + hex;
};

OV.blockKey = function (kind, index) {
  return kind + "/" + kind + "-" + String(index).padStart(5, "0");
};

/* Inverse of export.py encode_keypoints -> Float32Array of T*17*3 metres (frame-major). */
OV.decodeKeypoints = async function (enc) {
  const bytes = Uint8Array.from(atob(enc.deltas), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  const buffer = await new Response(stream).arrayBuffer();
  const view = new DataView(buffer);
  const wide = enc.dtype === "int32";
  const n = enc.frames, channels = enc.first.length, steps = n - 1;
  const out = new Float32Array(n * channels);
  for (let c = 0; c < channels; c++) {
    let mm = enc.first[c];
    out[c] = mm * enc.scale;
    const base = c * steps;
    for (let t = 1; t < n; t++) {
      const i = base + t - 1;
      mm += wide ? view.getInt32(i * 4, true) : view.getInt16(i * 2, true);
      out[t * channels + c] = mm * enc.scale;
    }
  }
  return out;
};

OV.el = function (tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
};

/* node.replaceChildren without the "null" text it makes of a null child */
OV.fill = function (node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
};

OV.fmtSeconds = function (frames, fps) {
  return (frames / fps).toFixed(1) + " s";
};
