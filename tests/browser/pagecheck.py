"""Helpers the browser tests share: theme names, colour contrast, text checks on a page."""
from __future__ import annotations

import re

LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"
THEMES = {"light": LIGHT, "dark": DARK}


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two CSS rgb()/rgba() colours (alpha ignored: callers pass resolved colours)."""
    def lum(c: str) -> float:
        nums = [float(x) for x in re.findall(r"[\d.]+", c)[:3]]
        if len(nums) < 3:
            raise ValueError(f"not an rgb colour: {c!r}")
        lin = [(v / 255) / 12.92 if v / 255 <= 0.03928 else (((v / 255) + 0.055) / 1.055) ** 2.4 for v in nums]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
