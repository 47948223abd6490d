/* Olympia viewer: the clip table. Rows live in data blocks of summary.rows.block_size clips
   (sorted by id). The unfiltered table in id order loads only the block(s) of the page shown;
   a filter or another sort order loads every block once (with a progress line) and then
   filters in memory. */
"use strict";
(function () {
  const PAGE_SIZE = 100;
  const COLUMNS = [
    ["id", "id"], ["source", "source"], ["split", "split"], ["label", "label"],
    ["reps", "reps"], ["duration", "duration"], ["subject", "subject"],
  ];
  const DEFAULT_STATE = { source: "", split: "", label: "", match: "words", repsMin: "", repsMax: "",
                          sort: "id", desc: false, page: 0 };
  let allRows = null;      // every block concatenated, once a filter or sort needs it
  let renderToken = 0;

  function stateFromQuery(query) {
    const p = new URLSearchParams(query);
    const s = { ...DEFAULT_STATE };
    for (const key of ["source", "split", "label", "match", "repsMin", "repsMax"]) if (p.has(key)) s[key] = p.get(key);
    if (p.has("sort")) {
      const sort = p.get("sort");
      s.desc = sort.startsWith("-");
      s.sort = sort.replace(/^-/, "");
    }
    s.page = Math.max(0, (parseInt(p.get("page"), 10) || 1) - 1);
    return s;
  }

  function queryFromState(s) {
    const p = new URLSearchParams();
    for (const key of ["source", "split", "label", "repsMin", "repsMax"]) if (s[key] !== "") p.set(key, s[key]);
    if (s.match !== "words") p.set("match", s.match);
    if (s.sort !== "id" || s.desc) p.set("sort", (s.desc ? "-" : "") + s.sort);
    if (s.page) p.set("page", String(s.page + 1));
    return p.toString();
  }

  function isPlain(s) {
    return !s.source && !s.split && !s.label.trim() && s.repsMin === "" && s.repsMax === "" && s.sort === "id" && !s.desc;
  }

  function labelWords(text) {
    return text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  }

  /* which labels of the dictionary the label filter keeps (null: no label filter).
     words: every word typed is a whole word of the label; substring: the text occurs in it. */
  function labelMatches(labels, text, match) {
    const query = text.trim().toLowerCase();
    if (!query) return null;
    if (match === "substring") return labels.map((label) => label.toLowerCase().includes(query));
    const wanted = labelWords(query);
    return labels.map((label) => {
      const words = new Set(labelWords(label));
      return wanted.every((w) => words.has(w));
    });
  }

  function rowAt(block, i, dict) {
    return { id: block.id[i], source: dict.source[block.source[i]], split: dict.split[block.split[i]],
             label: dict.label[block.label[i]], reps: block.reps[i], frames: block.n_frames[i],
             subject: block.subject[i] };
  }

  async function loadAll(progress) {
    if (allRows) return allRows;
    const { blocks } = OV.summary.rows;
    const cols = { id: [], source: [], split: [], label: [], reps: [], n_frames: [], subject: [] };
    let done = 0;
    const parts = await Promise.all(Array.from({ length: blocks }, (_, b) =>
      OV.load(OV.blockKey("rows", b), false).then((block) => {
        progress(++done, blocks);
        return block;
      })));
    for (const block of parts) for (const key of Object.keys(cols)) cols[key].push(...block[key]);
    allRows = cols;
    return allRows;
  }

  function selectRows(all, s) {
    const dict = OV.summary.dictionaries;
    const keepLabel = labelMatches(dict.label, s.label, s.match);
    const source = s.source === "" ? -1 : dict.source.indexOf(s.source);
    const split = s.split === "" ? -1 : dict.split.indexOf(s.split);
    const lo = s.repsMin === "" ? null : Number(s.repsMin), hi = s.repsMax === "" ? null : Number(s.repsMax);
    const out = [];
    for (let i = 0; i < all.id.length; i++) {
      if (source >= 0 && all.source[i] !== source) continue;
      if (split >= 0 && all.split[i] !== split) continue;
      if (keepLabel && !keepLabel[all.label[i]]) continue;
      if (lo !== null || hi !== null) {
        const reps = all.reps[i];
        if (reps === null || (lo !== null && reps < lo) || (hi !== null && reps > hi)) continue;
      }
      out.push(i);
    }
    if (s.sort !== "id" || s.desc) out.sort(comparator(all, s));
    return out;
  }

  function comparator(all, s) {
    const dict = OV.summary.dictionaries, sign = s.desc ? -1 : 1;
    const value = {
      id: (i) => i, source: (i) => dict.source[all.source[i]], split: (i) => dict.split[all.split[i]],
      label: (i) => dict.label[all.label[i]], reps: (i) => all.reps[i], duration: (i) => all.n_frames[i],
      subject: (i) => all.subject[i],
    }[s.sort] || ((i) => i);
    return (a, b) => {
      const va = value(a), vb = value(b);
      if (va === null && vb !== null) return 1;     // unknown reps last, either direction
      if (vb === null && va !== null) return -1;
      if (va < vb) return -sign;
      if (va > vb) return sign;
      return a - b;                                  // ties in id order
    };
  }

  async function pageRows(s, progress) {
    const dict = OV.summary.dictionaries, total = OV.summary.rows.total, size = OV.summary.rows.block_size;
    if (isPlain(s)) {
      const start = s.page * PAGE_SIZE, end = Math.min(total, start + PAGE_SIZE);
      const rows = [];
      for (let b = Math.floor(start / size); b * size < end; b++) {
        const block = await OV.load(OV.blockKey("rows", b));
        for (let i = Math.max(start, b * size); i < Math.min(end, (b + 1) * size); i++) rows.push(rowAt(block, i - b * size, dict));
      }
      return { total, rows, positions: rows.map((_, k) => start + k), order: null };
    }
    const all = await loadAll(progress);
    const order = selectRows(all, s);
    const start = s.page * PAGE_SIZE;
    const picked = order.slice(start, start + PAGE_SIZE);
    return { total: order.length, rows: picked.map((i) => rowAt(all, i, dict)),
             positions: picked.map((_, k) => start + k), order };
  }

  /* The id at position `pos` of the table as last filtered/sorted (for prev/next clip). */
  async function idAt(context, pos) {
    if (pos < 0 || pos >= context.total) return null;
    if (context.order) return allRows.id[context.order[pos]];
    const size = OV.summary.rows.block_size;
    const block = await OV.load(OV.blockKey("rows", Math.floor(pos / size)));
    return block.id[pos % size];
  }

  function controls(root, s, apply) {
    const dict = OV.summary.dictionaries;
    const select = (name, values, label) => OV.el("label", {}, label + " ",
      OV.el("select", { id: "filter-" + name, onchange: (e) => apply({ [name]: e.target.value }) },
        OV.el("option", { value: "" }, "all"),
        values.map((v) => OV.el("option", { value: v, selected: v === s[name] }, v))));
    let typing = null;
    const text = OV.el("input", { id: "filter-label", type: "search", placeholder: "e.g. curl, bent row", value: s.label,
      oninput: (e) => { clearTimeout(typing); typing = setTimeout(() => apply({ label: e.target.value }), 200); } });
    const number = (name, placeholder) => OV.el("input", { id: "filter-" + name, type: "number", min: 0,
      placeholder, value: s[name], class: "reps", onchange: (e) => apply({ [name]: e.target.value }) });
    OV.fill(root,
      select("source", dict.source, "source"), select("split", dict.split, "split"),
      OV.el("label", {}, "label ", text),
      OV.el("label", { title: "words: every word typed is a whole word of the label; substring: the text occurs anywhere in it" },
        OV.el("select", { id: "filter-match", onchange: (e) => apply({ match: e.target.value }) },
          ["words", "substring"].map((m) => OV.el("option", { value: m, selected: m === s.match }, m)))),
      OV.el("label", {}, "reps ", number("repsMin", "min"), " – ", number("repsMax", "max")),
      OV.el("button", { type: "button", id: "filter-reset", onclick: () => apply({ ...DEFAULT_STATE }, true) }, "reset"));
  }

  function header(root, s, apply) {
    OV.fill(root, OV.el("tr", {}, COLUMNS.map(([key, title]) => {
      const active = s.sort === key;
      return OV.el("th", { class: active ? "sorted" : null, "data-sort": key, title: "sort by " + title,
        onclick: () => apply({ sort: key, desc: active ? !s.desc : false }) },
        title, active ? (s.desc ? " ▼" : " ▲") : "");
    })));
  }

  function pager(root, s, total, apply) {
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const first = total ? s.page * PAGE_SIZE + 1 : 0, last = Math.min(total, (s.page + 1) * PAGE_SIZE);
    const go = (page) => apply({ page: Math.max(0, Math.min(pages - 1, page)) });
    OV.fill(root,
      OV.el("button", { type: "button", class: "page-first", disabled: s.page === 0, onclick: () => go(0) }, "«"),
      OV.el("button", { type: "button", class: "page-prev", disabled: s.page === 0, onclick: () => go(s.page - 1) }, "‹"),
      OV.el("span", { class: "pager-text" }, `clips ${first}–${last} of `,
        OV.el("b", { id: "pager-total", "data-total": total }, total.toLocaleString("en")),
        ` · page `, OV.el("input", { type: "number", class: "page-input", min: 1, max: pages, value: s.page + 1,
          onchange: (e) => go((parseInt(e.target.value, 10) || 1) - 1) }), ` of ${pages}`),
      OV.el("button", { type: "button", class: "page-next", disabled: s.page >= pages - 1, onclick: () => go(s.page + 1) }, "›"),
      OV.el("button", { type: "button", class: "page-last", disabled: s.page >= pages - 1, onclick: () => go(pages - 1) }, "»"));
  }

  async function renderClips(query) {
    const s = stateFromQuery(query);
    const apply = (change, replace) => {
      const next = replace ? { ...change } : { ...s, ...change };
      if (!("page" in change)) next.page = 0;
      OV.navigate("#/" + (queryFromState(next) ? "?" + queryFromState(next) : ""), true);
    };
    controls(document.getElementById("filters"), s, apply);
    header(document.getElementById("clips-head"), s, apply);
    const token = ++renderToken;
    const status = document.getElementById("table-status");
    status.textContent = "";
    const result = await pageRows(s, (done, of) => {
      if (token === renderToken) status.textContent = `loading the clip index: ${done} of ${of} blocks`;
    });
    if (token !== renderToken) return;
    status.textContent = result.total ? "" : OV.summary.rows.total ? "no clip matches these filters" : "this release has no clips";
    const context = { total: result.total, order: result.order, query };
    OV.tableContext = context;
    const body = document.getElementById("clips-body");
    OV.fill(body, ...result.rows.map((r, k) => OV.el("tr", { "data-id": r.id, tabindex: 0,
      onclick: () => { OV.clipContext = { context, pos: result.positions[k], id: r.id }; OV.navigate("#/clip/" + encodeURIComponent(r.id)); },
      onkeydown: (e) => { if (e.key === "Enter") e.currentTarget.click(); } },
      OV.el("td", { class: "mono" }, r.id), OV.el("td", {}, r.source), OV.el("td", {}, r.split),
      OV.el("td", {}, r.label), OV.el("td", { class: "num" }, r.reps === null ? "–" : r.reps),
      OV.el("td", { class: "num" }, OV.fmtSeconds(r.frames, OV.summary.skeleton.fps)), OV.el("td", {}, r.subject))));
    pager(document.getElementById("pager"), s, result.total, apply);
  }

  OV.renderClips = renderClips;
  OV.tableIdAt = idAt;
  OV.labelMatches = labelMatches;
})();
