// Review widget front-end (anywidget). All user text goes through textContent, never innerHTML.
// State lives in synced traits; this file only renders them and writes decisions/filters/page back.
// Stable hooks for browser tests: .lr-item[data-llmops-id] (and .lr-selected), buttons .lr-accept .lr-reject
// .lr-edit .lr-undo .lr-save .lr-cancel .lr-commit, .lr-title, .lr-summary, .lr-status.

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function button(label, title, onClick, cls) {
  const b = h("button", cls, label);
  b.type = "button";
  if (title) b.title = title;
  b.addEventListener("click", (ev) => {
    ev.stopPropagation();
    onClick();
  });
  return b;
}

function renderTokens(tokens) {
  // tokens: [[text, op]] with op eq / del / ins (word diff computed in Python)
  const box = h("div", "lr-text");
  for (const [text, op] of tokens) {
    if (op === "eq") box.appendChild(document.createTextNode(text));
    else box.appendChild(h("span", op === "del" ? "lr-del" : "lr-ins", text));
  }
  return box;
}

function render({ model, el }) {
  el.classList.add("llmops-review");
  el.tabIndex = 0;
  // JupyterLab (Lumino) skips its own shortcuts (a/b insert cells, j/k move) for events from inside this
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  el.setAttribute("data-p-suppress-shortcuts", "true");
  let selected = 0;
  let editing = null; // record id being edited
  let seq = 0;
  let searchTimer = null;

  // ---- header: title, filter, search, pager, commit --------------------------------------------
  const bar = h("div", "lr-bar");
  const title = h("span", "lr-title");
  const filterSel = h("select");
  filterSel.title = "show only these records";
  const search = h("input");
  search.type = "search";
  search.placeholder = "search text or id  ( / )";
  const prev = button("◀", "previous page (p)", () => goPage(-1));
  const pageLabel = h("span", "lr-muted");
  const next = button("▶", "next page (n)", () => goPage(1));
  const commit = button("Commit", "write a new snapshot from the decisions", () => {
    model.set("commit_request", (model.get("commit_request") || 0) + 1);
    model.save_changes();
  }, "lr-primary lr-commit");
  bar.append(title, filterSel, search, prev, pageLabel, next, commit);
  const summary = h("div", "lr-summary lr-muted");
  const status = h("div", "lr-status");
  const list = h("div", "lr-list");
  const help = h("div", "lr-help lr-muted",
    "keys: j/k or ↓/↑ move · a accept · r reject · e edit (Ctrl+Enter saves, Esc cancels) · u undo · n/p or →/← page · / search");
  el.append(bar, summary, status, list, help);

  filterSel.addEventListener("change", () => {
    selected = 0;
    model.set("filter", filterSel.value);
    model.save_changes();
  });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      selected = 0;
      model.set("query", search.value);
      model.save_changes();
    }, 250);
  });

  function goPage(delta) {
    const size = Math.max(1, model.get("page_size"));
    const last = Math.max(0, Math.ceil(model.get("total") / size) - 1);
    const page = Math.min(last, Math.max(0, model.get("page") + delta));
    if (page !== model.get("page")) {
      selected = delta > 0 ? 0 : size - 1;
      model.set("page", page);
      model.save_changes();
    }
  }

  function decide(id, decision, text) {
    seq += 1;
    model.set("decision", { id, decision, text: text === undefined ? null : text, seq: Date.now() * 1000 + seq });
    model.save_changes();
  }

  // ---- rendering -----------------------------------------------------------------------------------
  function renderHeader() {
    title.textContent = model.get("heading") || "Review " + model.get("dataset_ref");
    const current = model.get("filter");
    filterSel.replaceChildren();
    for (const [value, label, count] of model.get("filters")) {
      const o = h("option", null, `${label} (${count})`);
      o.value = value;
      if (value === current) o.selected = true;
      filterSel.appendChild(o);
    }
    if (document.activeElement !== search) search.value = model.get("query");
    const size = Math.max(1, model.get("page_size"));
    const total = model.get("total");
    const pages = Math.max(1, Math.ceil(total / size));
    pageLabel.textContent = `page ${model.get("page") + 1} of ${pages} · ${total} records`;
    summary.textContent = model.get("counts") || ""; // worded in Python (counts_line)
    status.textContent = model.get("status") || "";
  }

  function renderItem(item, index) {
    const box = h("div", "lr-item");
    box.setAttribute("data-llmops-id", String(item.id));
    box.setAttribute("data-llmops-decision", item.decision || "");
    const out = item.status !== "kept"; // removed by curation or rejected by an earlier review
    if (out) box.classList.add("lr-removed");
    if (item.decision) box.classList.add("lr-d-" + item.decision);
    if (index === selected) box.classList.add("lr-selected");
    box.addEventListener("click", () => { if (editing !== item.id) select(index); }); // keep a text being edited
    // a record's own button acts on it AND selects it, so the next a/r key acts on the same record
    const act = (f) => () => { select(index); f(); };

    const meta = h("div", "lr-meta");
    meta.appendChild(h("span", "lr-id", item.id));
    meta.appendChild(h("span", "lr-chip", item.status));
    if (item.reason) meta.appendChild(h("span", "lr-chip lr-reason", `${item.step}: ${item.reason}`));
    for (const f of item.flags || []) meta.appendChild(h("span", "lr-chip lr-flag", f));
    if (item.decision) meta.appendChild(h("span", "lr-chip lr-dec", item.decision));
    const detail = item.detail || {};
    const sim = detail.similarity_to_kept ?? detail.similarity;
    if (sim !== undefined && sim !== null) meta.appendChild(h("span", "lr-muted", `similarity ${sim}`));
    if (item.truncated) meta.appendChild(h("span", "lr-muted", `showing ${item.text.length} of ${item.length} chars`));
    box.appendChild(meta);

    if (editing === item.id) {
      const area = h("textarea");
      area.value = item.edited_text ?? item.text;
      const save = button("Save", "Ctrl+Enter", () => {
        editing = null;
        select(index);
        decide(item.id, "edit", area.value);
      }, "lr-primary lr-save");
      const cancel = button("Cancel", "Esc", () => {
        editing = null;
        select(index);
      }, "lr-cancel");
      area.addEventListener("keydown", (ev) => {
        if (ev.key === "Escape") { ev.preventDefault(); cancel.click(); }
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); save.click(); }
        ev.stopPropagation();
      });
      const actions = h("div", "lr-actions");
      actions.append(save, cancel);
      box.append(area, actions);
      setTimeout(() => area.focus(), 0);
      return box;
    }

    if (item.diff) {
      const pair = h("div", "lr-pair");
      const left = h("div");
      left.append(h("h4", null, `kept: ${item.duplicate_of}`), renderTokens(item.diff.kept));
      const right = h("div");
      right.append(h("h4", null, `this record (${item.status})`), renderTokens(item.diff.this));
      pair.append(left, right);
      box.appendChild(pair);
    } else {
      box.appendChild(h("div", "lr-text", item.edited_text ?? item.text));
    }

    const actions = h("div", "lr-actions");
    actions.append(
      button(out ? "Accept (restore)" : "Accept", "a", act(() => decide(item.id, "accept")), "lr-accept"),
      button("Reject", "r", act(() => decide(item.id, "reject")), "lr-reject"),
    );
    const edit = button("Edit", "e", act(() => startEdit(item)), "lr-edit");
    if (item.truncated) {
      edit.disabled = true;
      edit.title = "too long to edit here; use Review.decide(id, 'edit', text)";
    }
    actions.appendChild(edit);
    if (item.decision) actions.appendChild(button("Undo", "u", act(() => decide(item.id, "clear")), "lr-undo"));
    box.appendChild(actions);
    return box;
  }

  function select(index) {
    selected = index;
    renderList();
    el.focus(); // the clicked button is about to be re-rendered away: keep the keys on this widget
  }

  function startEdit(item) {
    if (item.truncated) return;
    editing = item.id;
    renderList();
  }

  function renderList() {
    const items = model.get("items") || [];
    if (selected >= items.length) selected = Math.max(0, items.length - 1);
    list.replaceChildren();
    if (!items.length) list.appendChild(h("div", "lr-muted", "no records match"));
    items.forEach((item, i) => list.appendChild(renderItem(item, i)));
    const sel = list.children[selected];
    if (sel && sel.scrollIntoView && document.activeElement === el) sel.scrollIntoView({ block: "nearest" });
  }

  // ---- keyboard ------------------------------------------------------------------------------------
  function onKey(ev) {
    if (editing) return;
    const tag = ev.target && ev.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") {
      if (ev.key === "Escape") el.focus();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const items = model.get("items") || [];
    const item = items[selected];
    const act = {
      j: () => { if (selected < items.length - 1) { selected += 1; renderList(); } else goPage(1); },
      ArrowDown: () => act.j(),
      k: () => { if (selected > 0) { selected -= 1; renderList(); } else goPage(-1); },
      ArrowUp: () => act.k(),
      n: () => goPage(1),
      ArrowRight: () => goPage(1),
      p: () => goPage(-1),
      ArrowLeft: () => goPage(-1),
      a: () => item && decide(item.id, "accept"),
      r: () => item && decide(item.id, "reject"),
      e: () => item && startEdit(item),
      u: () => item && item.decision && decide(item.id, "clear"),
      "/": () => search.focus(),
    }[ev.key];
    if (act) {
      ev.preventDefault();
      ev.stopPropagation(); // keep JupyterLab's own shortcuts (a/b insert cells, ...) out of it
      act();
    }
  }
  el.addEventListener("keydown", onKey);

  const onItems = () => { renderHeader(); renderList(); };
  const onHeader = () => renderHeader();
  model.on("change:items", onItems);
  for (const name of ["filters", "summary", "status", "total", "page", "filter", "query", "heading", "counts"]) {
    model.on(`change:${name}`, onHeader);
  }
  onItems();

  return () => {
    el.removeEventListener("keydown", onKey);
    clearTimeout(searchTimer);
    model.off("change:items", onItems);
    for (const name of ["filters", "summary", "status", "total", "page", "filter", "query", "heading", "counts"]) {
      model.off(`change:${name}`, onHeader);
    }
  };
}

export default { render };
