"""Widgets read well in the light and the dark theme: every colour comes from a JupyterLab `--jp-*` variable
(a literal only as the variable's fallback), text columns are left-aligned even inside JupyterLab's
`.jp-RenderedHTMLCommon` (whose `td {text-align: right}` outranks a plain class rule), and no front-end
writes user text as HTML."""
import re
from pathlib import Path

import pytest

import llmops_nb as L
from llmops_nb.widgets import snapshot

WIDGETS = Path(L.__file__).parent / "widgets"
FRONT = sorted(WIDGETS.glob("*.css")) + sorted(WIDGETS.glob("*.js"))
NAMED = ("aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown "
         "burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan "
         "darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid darkred "
         "darksalmon darkseagreen darkslateblue darkslategray darkturquoise darkviolet deeppink deepskyblue dimgray "
         "dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green "
         "greenyellow grey honeydew hotpink indianred indigo ivory khaki lavender lawngreen lemonchiffon lightblue "
         "lightcoral lightcyan lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue "
         "lightslategray lightsteelblue lightyellow lime limegreen linen magenta maroon mediumblue mediumorchid "
         "mediumpurple mediumseagreen mediumslateblue mediumspringgreen mediumturquoise midnightblue mintcream "
         "mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid palegreen "
         "paleturquoise palevioletred papayawhip peachpuff peru pink plum powderblue purple rebeccapurple red "
         "rosybrown royalblue saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue "
         "slategray snow springgreen steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke "
         "yellow yellowgreen").split()
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\(|(?<![\w-])(?:"
                    + "|".join(NAMED) + r")(?![\w-])", re.I)  # a name, not part of one (white-space)
JP_VAR = re.compile(r"var\(\s*--jp-[\w-]+\s*(?:,[^()]*(?:\([^()]*\)[^()]*)*)?\)")


def colour_literals(css: str) -> list:
    """Colour literals left once every `var(--jp-..., fallback)` (nested ones included) is taken out."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    while True:
        stripped = JP_VAR.sub("", css)
        if stripped == css:
            break
        css = stripped
    return COLOUR.findall(css)


def test_the_lint_itself_tells_fallbacks_from_literals():
    assert colour_literals("a { color: var(--jp-ui-font-color1, #222); border: 1px solid var(--jp-x, rgba(0,0,0,.1)) }") == []
    assert colour_literals("a { color: var(--jp-a, var(--jp-b, white)) }") == []
    assert colour_literals("a { color: #fff; background: rgb(1, 2, 3) }") == ["#fff", "rgb("]
    assert colour_literals("a { color: var(--my-own, red) }") == ["red"]  # only --jp-* variables count
    assert colour_literals("a { border-color: white; white-space: pre-wrap }") == ["white"]


def _style_parts(path: Path) -> str:
    """What of a file can set a colour: a .css file whole; in .js, string literals and `.style` writes."""
    text = path.read_text()
    if path.suffix == ".css":
        return text
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return "\n".join(re.findall(r"\"[^\"\n]*\"|'[^'\n]*'|`[^`]*`", text) + re.findall(r"\.style\.\w+\s*=.*", text))


@pytest.mark.parametrize("path", FRONT, ids=lambda p: p.name)
def test_no_hard_coded_colours_in_widget_front_ends(path):
    assert colour_literals(_style_parts(path)) == [], f"{path.name}: use var(--jp-...) colours"


def test_no_hard_coded_colours_in_snapshot_html_or_widget_python():
    assert colour_literals(snapshot.STYLE) == []
    for py in WIDGETS.glob("*.py"):  # no inline style attributes with colours in the HTML Python writes
        assert not re.search(r"style=['\"][^'\"]*(?:color|background|border)", py.read_text()), py.name


def test_text_columns_are_left_aligned_even_in_rendered_html():
    style = snapshot.STYLE
    # more specific than `.jp-RenderedHTMLCommon td` (one class, one element)
    assert ".jp-RenderedHTMLCommon .llmops-snap table.ls-t td" in style
    rule = style.split(".jp-RenderedHTMLCommon .llmops-snap table.ls-t td{", 1)[1].split("}", 1)[0]
    assert "text-align:left" in rule
    assert "white-space:pre-wrap" in style
    for css in WIDGETS.glob("*.css"):
        assert "text-align: left" in css.read_text(), css.name


@pytest.mark.parametrize("path", sorted(WIDGETS.glob("*.js")), ids=lambda p: p.name)
def test_front_ends_never_write_text_as_html(path):
    src = path.read_text()
    assert not re.search(r"\.(innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write", src)
    assert "textContent" in src and "export default" in src
