// A minimal DOM for running a widget's render() under node: the test machines have no browser for these unit
// tests (the real-browser tests live with the extension). Only what the widgets' front-ends use.
class ClassList {
  constructor(node) { this.node = node; }
  _all() { return this.node.className.split(/\s+/).filter(Boolean); }
  add(...cs) { const s = new Set(this._all()); cs.forEach((c) => s.add(c)); this.node.className = [...s].join(" "); }
  remove(...cs) { this.node.className = this._all().filter((c) => !cs.includes(c)).join(" "); }
  contains(c) { return this._all().includes(c); }
  toggle(c, on) { const want = on === undefined ? !this.contains(c) : on; want ? this.add(c) : this.remove(c); return want; }
}

export class Node {
  constructor(tag) {
    this.tagName = tag; this.children = []; this.parent = null; this._text = ""; this.listeners = {}; this.attrs = {};
    this.className = ""; this.value = ""; this.disabled = false; this.title = ""; this.style = {};
    this.classList = new ClassList(this); this.scrolled = 0;
  }
  set textContent(t) { this.children.forEach((c) => { c.parent = null; }); this.children = []; this._text = String(t); }
  get textContent() { return this._text + this.children.map((c) => c.textContent).join(""); }
  _adopt(c) { if (c.parent) c.parent._drop(c); c.parent = this; return c; }
  _drop(c) { this.children = this.children.filter((x) => x !== c); c.parent = null; }
  appendChild(c) { this._adopt(c); this.children.push(c); return c; }
  append(...cs) { cs.forEach((c) => this.appendChild(c)); }
  prepend(...cs) { cs.reverse().forEach((c) => { this._adopt(c); this.children.unshift(c); }); }
  after(c) { const p = this.parent; p._adopt(c); p.children.splice(p.children.indexOf(this) + 1, 0, c); }
  remove() { if (this.parent) this.parent._drop(this); }
  replaceChildren(...cs) { this.textContent = ""; this.append(...cs); }
  addEventListener(t, f) { (this.listeners[t] ||= []).push(f); }
  removeEventListener(t, f) { this.listeners[t] = (this.listeners[t] || []).filter((g) => g !== f); }
  dispatch(t, ev = {}) {
    const event = { target: this, preventDefault() {}, stopPropagation() { this.stopped = true; }, ...ev };
    for (let n = this; n && !event.stopped; n = n.parent) for (const f of n.listeners[t] || []) f(event);
  }
  focus() { globalThis.document.activeElement = this; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  click() { this.dispatch("click"); }
  scrollIntoView() { this.scrolled += 1; }
  findAll(pred, out = []) { if (pred(this)) out.push(this); this.children.forEach((c) => c.findAll(pred, out)); return out; }
  find(pred) { return this.findAll(pred)[0] || null; }
  byClass(c) { return this.findAll((n) => n.classList.contains(c)); }
}

export function installDom() {
  globalThis.document = {
    createElement: (t) => new Node(t.toUpperCase()),
    createTextNode: (t) => { const n = new Node("#text"); n.textContent = t; return n; },
    activeElement: null,
  };
}

// A model like anywidget's: get/set/save_changes/on/off; `sent` keeps every set, in order.
export function makeModel(state) {
  const handlers = {};
  const sent = [];
  return {
    state, sent,
    get: (k) => state[k],
    set: (k, v) => { state[k] = v; sent.push([k, v]); },
    save_changes() {},
    on: (e, f) => { (handlers[e] ||= []).push(f); },
    off: (e, f) => { handlers[e] = (handlers[e] || []).filter((g) => g !== f); },
    // what a change arriving from the kernel does
    update(k, v) { state[k] = v; for (const f of handlers["change:" + k] || []) f(); },
  };
}
