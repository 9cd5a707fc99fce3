"""Helpers the browser tests share: theme names, colour contrast, text checks on a page."""
from __future__ import annotations

import re

LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
THEMES = {"light": LIGHT, "dark": DARK}


def contrast_ratio(fg, bg) -> float:
    """WCAG contrast ratio of two opaque colours: "rgb(r, g, b)" strings or (r, g, b) tuples."""
    def lum(c) -> float:
        nums = [float(x) for x in re.findall(r"[\d.]+", c)[:3]] if isinstance(c, str) else list(c)[:3]
        if len(nums) < 3:
            raise ValueError(f"not an rgb colour: {c!r}")
        lin = [(v / 255) / 12.92 if v / 255 <= 0.03928 else (((v / 255) + 0.055) / 1.055) ** 2.4 for v in nums]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# An element's text colour and the colour actually behind it: its own or its nearest ancestors' backgrounds,
# translucent ones composited over the next down (white under all), the text colour composited over that.
COLOURS_JS = """(el) => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
  const layers = [];
  for (let n = el; n; n = n.parentElement) {
    const raw = getComputedStyle(n).backgroundColor, c = parse(raw);
    if (c === null) return {error: `unparsed background ${raw} on ${n.className}`};
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let bg = [255, 255, 255, 1];
  for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
  const rawFg = getComputedStyle(el).color, fg = parse(rawFg);
  if (fg === null) return {error: `unparsed colour ${rawFg}`};
  return {fg: over(fg, bg).slice(0, 3), bg: bg.slice(0, 3), cls: String(el.className), tag: el.tagName};
}"""


def contrast_of(locator) -> tuple:
    """(ratio, detail) for the element a Playwright locator names (the first one)."""
    c = locator.first.evaluate(COLOURS_JS)
    if "error" in c:
        raise AssertionError(c["error"])
    r = contrast_ratio(c["fg"], c["bg"])
    return r, f"text rgb{tuple(round(v) for v in c['fg'])} on rgb{tuple(round(v) for v in c['bg'])} " \
              f"(<{c['tag'].lower()} class='{c['cls']}'>), contrast {r:.2f}"
