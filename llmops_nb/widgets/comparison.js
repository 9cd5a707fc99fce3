// Front-end of llmops_nb.widgets.comparison.ComparisonWidget. It writes `position` and `order`; Python answers
// with `current`. Every string reaches the page through textContent; answers keep newlines (pre-wrap).
// Stable hooks for browser tests: .lc-prev .lc-next .lc-position .lc-order, .lc-question, .lc-reference,
// .lc-answer[data-llmops-variant] with .lc-variant, .lc-score and .lc-output.

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function render({ model, el }) {
  el.classList.add("llmops-comparison");
  const bar = h("div", "lc-bar");
  const prev = h("button", "lc-prev", "◀ prev");
  const next = h("button", "lc-next", "next ▶");
  prev.type = next.type = "button";
  const position = h("span", "lc-position");
  const order = h("select", "lc-order");
  order.title = "order of the examples";
  bar.append(prev, next, position, order);
  const body = h("div", "lc-body");
  el.append(bar, body);

  function go(delta) {
    const last = Math.max(0, model.get("count") - 1);
    const pos = Math.min(last, Math.max(0, model.get("position") + delta));
    if (pos !== model.get("position")) {
      model.set("position", pos);
      model.save_changes();
    }
  }
  prev.addEventListener("click", () => go(-1));
  next.addEventListener("click", () => go(1));
  order.addEventListener("change", () => {
    model.set("order", order.value);
    model.save_changes();
  });

  function drawBar() {
    const count = model.get("count");
    position.textContent = count ? `example ${model.get("position") + 1} of ${count}` : "no examples";
    prev.disabled = model.get("position") <= 0;
    next.disabled = model.get("position") >= count - 1;
    order.replaceChildren();
    for (const o of model.get("orders") || []) {
      const opt = h("option", null, o);
      opt.value = o;
      if (o === model.get("order")) opt.selected = true;
      order.appendChild(opt);
    }
  }

  function drawBody() {
    const cur = model.get("current") || {};
    body.replaceChildren();
    if (!cur.answers) {
      body.appendChild(h("div", "lc-muted", "no examples"));
      return;
    }
    const q = h("div", "lc-question");
    q.append(h("b", null, "Q: "), h("span", "lc-pre", cur.question));
    const ref = h("div", "lc-reference");
    ref.append(h("b", null, "reference: "), h("span", "lc-pre", cur.reference));
    const list = h("div", "lc-answers");
    const metric = model.get("metric");
    for (const a of cur.answers) {
      const row = h("div", "lc-answer");
      row.setAttribute("data-llmops-variant", String(a.variant));
      const side = h("div", "lc-side");
      const score = a.score === null || a.score === undefined ? "–" : Number(a.score).toFixed(2);
      side.append(h("div", "lc-variant", a.variant), h("div", "lc-score", `${metric} ${score}`));
      const output = h("div", "lc-output lc-pre", a.output);
      if (!a.output) output.classList.add("lc-empty");
      if (!a.output) output.textContent = "(empty answer)";
      row.append(side, output);
      list.appendChild(row);
    }
    body.append(q, ref, list);
  }

  const onBar = () => drawBar();
  const onBody = () => { drawBar(); drawBody(); };
  for (const name of ["count", "position", "order", "orders"]) model.on(`change:${name}`, onBar);
  model.on("change:current", onBody);
  onBody();
  return () => {
    for (const name of ["count", "position", "order", "orders"]) model.off(`change:${name}`, onBar);
    model.off("change:current", onBody);
  };
}

export default { render };
