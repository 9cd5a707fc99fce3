// Front-end of llmops_nb.widgets.explore.Explorer. State lives only in synced traits: this file writes
// query/k/where/selected and renders results/note/error/record/busy. User text is set with textContent only.
// Stable hooks for browser tests: .lx-query .lx-k .lx-where, .lx-busy (shown while searching), .lx-status,
// .lx-error, .lx-hit[data-llmops-id] with a.lx-show ("show record"), .lx-record (opened right under its hit)
// with a.lx-close.

const DEBOUNCE_MS = 250;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Append `text` to `parent`, wrapping query terms in <mark>; every piece goes in as a text node.
function appendHighlighted(parent, text, terms) {
  if (!terms || terms.length === 0) {
    parent.appendChild(document.createTextNode(text));
    return;
  }
  const re = new RegExp("\\b(?:" + terms.map(escapeRegExp).join("|") + ")\\w*", "gi");
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
    parent.appendChild(el("mark", "", m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}

function render({ model, el: root }) {
  root.classList.add("llmops-explore");
  const bar = el("div", "lx-bar");
  const query = el("input", "lx-query");
  query.type = "search";
  query.placeholder = "Search " + model.get("index_name") + "…";
  query.value = model.get("query");
  const k = el("input", "lx-k");
  k.type = "number";
  k.min = "1";
  k.title = "number of results";
  k.value = String(model.get("k"));
  const where = el("input", "lx-where");
  where.placeholder = "filter, e.g. topic == 'assert'";
  where.value = model.get("where");
  const busy = el("span", "lx-busy", "searching…");
  busy.setAttribute("role", "status");
  bar.append(query, el("span", "lx-meta", "k"), k, where, busy);
  const status = el("div", "lx-status");
  const error = el("div", "lx-error");
  const list = el("div", "lx-results");
  const record = el("div", "lx-record");
  record.style.display = "none";
  root.append(bar, status, error, list);

  let timer = null;
  function push(name, value) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      model.set(name, value);
      model.save_changes();
    }, DEBOUNCE_MS);
  }
  query.addEventListener("input", () => push("query", query.value));
  where.addEventListener("change", () => push("where", where.value));
  where.addEventListener("keydown", (e) => { if (e.key === "Enter") push("where", where.value); });
  k.addEventListener("change", () => {
    const n = parseInt(k.value, 10);
    if (Number.isFinite(n)) push("k", n);
  });

  function drawBusy() {
    const on = Boolean(model.get("busy"));
    busy.style.display = on ? "" : "none";
    root.classList.toggle("lx-is-busy", on);
    root.setAttribute("aria-busy", on ? "true" : "false");
  }

  function drawStatus() {
    const cols = model.get("columns") || [];
    const n = (model.get("results") || []).length;
    const parts = [];
    if (model.get("query")) parts.push(n + " results in " + model.get("elapsed_ms") + " ms");
    if (model.get("note")) parts.push(model.get("note"));
    if (cols.length) parts.push("filter columns: " + cols.join(", "));
    status.textContent = parts.join(" · ");
    error.textContent = model.get("error") || "";
    error.style.display = model.get("error") ? "" : "none";
  }

  function drawResults() {
    const terms = model.get("terms") || [];
    list.replaceChildren();
    for (const r of model.get("results") || []) {
      const hit = el("div", "lx-hit");
      hit.setAttribute("data-llmops-id", String(r.id));
      const head = el("div", "lx-head");
      head.append(el("span", "lx-score", Number(r.score).toFixed(3)), el("span", "lx-id", r.id),
        el("span", "lx-meta", "#" + r.chunk));
      const meta = Object.entries(r.metadata || {}).slice(0, 4).map(([k2, v]) => k2 + "=" + v).join("  ");
      if (meta) head.append(el("span", "lx-meta", meta));
      const link = el("a", "lx-link lx-show", "show record");
      link.addEventListener("click", () => {
        model.set("selected", r.id);
        model.save_changes();
      });
      head.append(link);
      const text = el("div", "lx-text");
      appendHighlighted(text, r.text || "", terms);
      hit.append(head, text);
      list.append(hit);
    }
    drawStatus();
    drawRecord();
  }

  // The record opens right under the hit it belongs to (or at the top of the results), scrolled into view.
  function placeRecord(id) {
    const hits = Array.from(list.children);
    const hit = hits.find((node) => node.getAttribute && node.getAttribute("data-llmops-id") === String(id));
    if (hit) hit.after(record);
    else list.prepend(record);
    if (record.scrollIntoView) record.scrollIntoView({ block: "nearest" });
  }

  function drawRecord() {
    const rec = model.get("record") || {};
    record.replaceChildren();
    if (!rec.id) {
      record.style.display = "none";
      record.remove();
      return;
    }
    record.style.display = "";
    record.setAttribute("data-llmops-id", String(rec.id));
    const head = el("div", "lx-head");
    const close = el("a", "lx-link lx-close", "close");
    close.addEventListener("click", () => {
      model.set("selected", "");
      model.save_changes();
    });
    head.append(el("span", "lx-id", rec.id), close);
    const meta = Object.entries(rec.metadata || {}).map(([k2, v]) => k2 + "=" + v).join("  ");
    const body = el("div", "lx-text");
    appendHighlighted(body, rec.text || "", model.get("terms") || []);
    record.append(head, el("div", "lx-meta", meta), body);
    placeRecord(rec.id);
  }

  model.on("change:results", drawResults);
  model.on("change:note", drawStatus);
  model.on("change:error", drawStatus);
  model.on("change:elapsed_ms", drawStatus);
  model.on("change:record", drawRecord);
  model.on("change:busy", drawBusy);
  drawResults();
  drawBusy();
  return () => {
    clearTimeout(timer);
    for (const [name, f] of [["results", drawResults], ["note", drawStatus], ["error", drawStatus],
      ["elapsed_ms", drawStatus], ["record", drawRecord], ["busy", drawBusy]]) model.off("change:" + name, f);
  };
}

export default { render };
