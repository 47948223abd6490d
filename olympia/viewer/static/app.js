/* Olympia viewer: start-up, routes and the overview / quarantine pages.
   Routes (in the URL fragment, so a page opened from disk keeps them):
     #/?source=..&split=..&label=..&repsMin=..&repsMax=..&sort=-reps&page=2   overview + clip table
     #/clip/<id>                                                                one clip
     #/quarantine?source=..&page=..                                             the quarantine */
"use strict";
(function () {
  const QUARANTINE_PAGE = 100;

  OV.navigate = function (hash, replace) {
    if (replace) {
      history.replaceState(null, "", hash);
      route();
    } else {
      location.hash = hash;
    }
  };

  function show(name) {
    for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== "view-" + name;
    for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.route === name);
  }

  function overview() {
    const sum = OV.summary, splits = sum.dictionaries.split, c = sum.counts;
    const hours = c.frames / sum.skeleton.fps / 3600;
    const tile = (value, label, id) => OV.el("div", { class: "tile" }, OV.el("b", { id }, value), OV.el("span", {}, label));
    const totals = splits.map((s) => c.splits[s] || 0);
    const table = OV.el("table", { class: "counts", id: "counts-table" },
      OV.el("thead", {}, OV.el("tr", {}, OV.el("th", {}, "source"), splits.map((s) => OV.el("th", { class: "num" }, s)),
        OV.el("th", { class: "num" }, "total"))),
      OV.el("tbody", {}, Object.entries(sum.counts.by_source_split).map(([source, row]) =>
        OV.el("tr", {}, OV.el("td", {}, OV.el("a", { href: "#/?source=" + encodeURIComponent(source) }, source)),
          splits.map((s) => OV.el("td", { class: "num" }, (row[s] || 0).toLocaleString("en"))),
          OV.el("td", { class: "num" }, splits.reduce((a, s) => a + (row[s] || 0), 0).toLocaleString("en"))))),
      OV.el("tfoot", {}, OV.el("tr", {}, OV.el("th", {}, "all"), totals.map((n) => OV.el("th", { class: "num" }, n.toLocaleString("en"))),
        OV.el("th", { class: "num" }, c.clips.toLocaleString("en")))));
    const skipped = Object.entries(sum.release.sources_skipped || {});
    OV.fill(document.getElementById("overview"),
      OV.el("div", { class: "tiles" },
        tile(c.clips.toLocaleString("en"), "clips", "count-clips"),
        tile(hours.toFixed(hours < 10 ? 2 : 1), "hours"),
        tile(Object.keys(c.by_source_split).length, "sources"),
        tile(sum.dictionaries.label.length.toLocaleString("en"), "labels"),
        OV.el("a", { href: "#/quarantine", class: "tile" + (c.quarantined ? " bad" : "") },
          OV.el("b", {}, c.quarantined.toLocaleString("en")), OV.el("span", {}, "quarantined"))),
      OV.el("div", { class: "overview-row" }, table,
        OV.el("div", { class: "plots" }, sum.plots.map((p) => OV.el("a", { href: "plots/" + p, target: "_blank", title: p },
          OV.el("img", { src: "plots/" + p, alt: p, loading: "lazy" }))))),
      skipped.length ? OV.el("details", { class: "skipped" }, OV.el("summary", {}, `${skipped.length} configured sources not in this release`),
        OV.el("ul", {}, skipped.map(([name, why]) => OV.el("li", {}, OV.el("b", {}, name), ": " + why)))) : null);
  }

  async function quarantine(query) {
    const p = new URLSearchParams(query), sum = OV.summary.quarantine;
    const source = p.get("source") || "";
    const root = document.getElementById("quarantine-body");
    const status = document.getElementById("quarantine-status");
    const all = [];
    for (let b = 0; b < sum.blocks; b++) {
      status.textContent = `loading ${b + 1} of ${sum.blocks} blocks`;
      all.push(...(await OV.load(OV.blockKey("quarantine", b))).entries);
    }
    const entries = source ? all.filter((e) => e.source === source) : all;
    const pages = Math.max(1, Math.ceil(entries.length / QUARANTINE_PAGE));
    const page = Math.min(pages - 1, Math.max(0, (parseInt(p.get("page"), 10) || 1) - 1));
    const link = (src, pg) => "#/quarantine?" + new URLSearchParams({ ...(src ? { source: src } : {}), ...(pg ? { page: pg + 1 } : {}) });
    OV.fill(document.getElementById("quarantine-filters"),
      OV.el("label", {}, "source ", OV.el("select", { id: "quarantine-source", onchange: (e) => OV.navigate(link(e.target.value, 0), true) },
        OV.el("option", { value: "" }, `all (${all.length})`),
        Object.entries(sum.by_source).map(([s, n]) => OV.el("option", { value: s, selected: s === source }, `${s} (${n})`)))),
      OV.el("span", { id: "quarantine-total", "data-total": entries.length }, ` ${entries.length} item${entries.length === 1 ? "" : "s"}`),
      pages > 1 ? OV.el("span", { class: "pager" },
        OV.el("button", { type: "button", disabled: page === 0, onclick: () => OV.navigate(link(source, page - 1), true) }, "‹"),
        ` page ${page + 1} of ${pages} `,
        OV.el("button", { type: "button", disabled: page >= pages - 1, onclick: () => OV.navigate(link(source, page + 1), true) }, "›")) : null);
    status.textContent = all.length ? "" : "Nothing was quarantined: every item became a clip.";
    OV.fill(root, ...entries.slice(page * QUARANTINE_PAGE, (page + 1) * QUARANTINE_PAGE).map((e) =>
      OV.el("tr", {}, OV.el("td", {}, e.source), OV.el("td", { class: "mono" }, e.where),
        OV.el("td", { class: "mono" }, e.field || "–"), OV.el("td", {}, e.message),
        OV.el("td", { class: "mono" }, e.clip_id || "–"))));
  }

  async function route() {
    const hash = location.hash.replace(/^#/, "") || "/";
    const [path, query] = hash.split("?");
    try {
      if (path.startsWith("/clip/")) {
        show("clip");
        await OV.renderClip(decodeURIComponent(path.slice("/clip/".length)));
      } else if (path === "/quarantine") {
        OV.stopClip();
        show("quarantine");
        await quarantine(query || "");
      } else {
        OV.stopClip();
        show("clips");
        await OV.renderClips(query || "");
      }
    } catch (err) {
      fail(err);
    }
    OV.renders = (OV.renders || 0) + 1;            // tests wait on this: the route is drawn
    document.body.dataset.renders = String(OV.renders);
  }

  function fail(err) {
    const box = document.getElementById("error");
    box.hidden = false;
    box.textContent = "The viewer hit a problem: " + (err && err.message ? err.message : err);
  }

  async function start() {
    try {
      OV.summary = await OV.load("summary");
    } catch (err) {
      fail(err);
      return;
    }
    const rel = OV.summary.release;
    document.title = rel.name + " · Olympia viewer";
    document.getElementById("release-name").textContent = rel.name;
    document.getElementById("release-version").textContent = [
      rel.format_version && "format " + rel.format_version, rel.olympia_version && "olympia " + rel.olympia_version,
      rel.split_mode && "split mode " + rel.split_mode].filter(Boolean).join(" · ");
    const q = OV.summary.counts.quarantined;
    document.getElementById("nav-quarantine-count").textContent = q ? q.toLocaleString("en") : "";
    overview();
    window.addEventListener("hashchange", route);
    await route();
    document.body.dataset.ready = "1";
  }

  window.addEventListener("DOMContentLoaded", start);
})();
