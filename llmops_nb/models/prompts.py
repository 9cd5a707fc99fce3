"""Prompt registry: immutable, versioned Jinja2 templates (`name@v1`, `name@v2`, ...) stored in the workspace.

Templates use Jinja2 (`{{ question }}`, `{{ context }}`, `{% for ex in examples %}`), rendered with
StrictUndefined so a missing variable is named instead of silently becoming "". Text that only looks like
Jinja — JSON, Python dicts, f-string escapes such as `{{x!r}}`, shell `${#arr}` — is kept literally: a `{{ }}`
block counts as a variable only if it is a valid expression that uses a name, a `{% %}` block only if it
starts with a Jinja statement keyword, and a `{# #}` block only if it is a closed comment.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..display import STYLE, ResultTable, esc, fmt_time, html_table, text_table
from ..errors import InputError, not_found
from ..tracking.runs import active_run
from ..workspace import check_name, transaction, workspace

# Built-in templates, used by `compare` for its zero-shot / few-shot / rag variants. Every template is
# one user message; render_chat() wraps it in the model's chat template.
DEFAULT_TEMPLATES: Dict[str, str] = {
    "zero-shot": (
        "Answer the question about Python in one short sentence.\n\n"
        "Question: {{ question }}\n"
        "Answer:"
    ),
    "few-shot": (
        "Answer the question about Python in one short sentence, like the examples.\n\n"
        "{% for ex in examples %}"
        "Question: {{ ex.question }}\n"
        "Answer: {{ ex.answer }}\n\n"
        "{% endfor %}"
        "Question: {{ question }}\n"
        "Answer:"
    ),
    "rag": (
        "Answer the question about Python in one short sentence, using only the numbered passages below. "
        "Cite the passages you used like [1] or [2]. If the passages do not contain the answer, say you "
        "don't know.\n\n"
        "{% if context is string %}{{ context }}\n"
        "{% else %}{% for p in context %}"
        "[{{ loop.index }}] {{ p.text if p is mapping else p }}\n"
        "{% endfor %}{% endif %}\n"
        "Question: {{ question }}\n"
        "Answer:"
    ),
}

_REF = re.compile(r"^(?P<name>[^@]+?)(?:@v?(?P<version>\d+|builtin|latest))?$")
_STATEMENTS = {
    "for", "endfor", "if", "elif", "else", "endif", "set", "endset", "macro", "endmacro", "call", "endcall",
    "filter", "endfilter", "with", "endwith", "block", "endblock", "raw", "endraw", "include", "import", "from",
    "extends", "break", "continue", "do", "autoescape", "endautoescape", "trans", "endtrans", "pluralize",
}


def _env():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    # Sandboxed: templates may come from shared workspaces, so they must not reach Python internals.
    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


# ------------------------------------------------------------------------------------------------
# Keeping braces that are not Jinja

def _is_jinja_expression(env, content: str) -> bool:
    """True for `{{ name... }}` expressions and Jinja's own escapes like `{{ '{{' }}`; False for JSON/dict text."""
    from jinja2 import TemplateSyntaxError, nodes

    body = content.strip("-+ \t\r\n")
    if not body:
        return False
    try:
        ast = env.parse("{{ " + body + " }}")
    except TemplateSyntaxError:
        return False
    if any(True for _ in ast.find_all(nodes.Name)):
        return True
    output = ast.body[0] if len(ast.body) == 1 else None
    return (isinstance(output, nodes.Output) and len(output.nodes) == 1 and isinstance(output.nodes[0], nodes.Const)
            and isinstance(output.nodes[0].value, str))


def protect_literal_braces(template: str) -> str:
    """The Jinja source to compile: literal `{{`, `{%`, `{#` that are not Jinja become `{{ '{{' }}` etc."""
    env = _env()
    out: List[str] = []
    i, n = 0, len(template)
    while i < n:
        j = template.find("{", i)
        if j < 0 or j == n - 1:
            out.append(template[i:])
            break
        out.append(template[i:j])
        two = template[j:j + 2]
        if two == "{{":
            end = template.find("}}", j + 2)
            if end >= 0 and "\n\n" not in template[j:end] and _is_jinja_expression(env, template[j + 2:end]):
                out.append(template[j:end + 2])
                i = end + 2
            else:
                out.append("{{ '{{' }}")
                i = j + 2
        elif two == "{%":
            end = template.find("%}", j + 2)
            words = template[j + 2:end].strip("-+ \t\r\n").split() if end >= 0 else []
            if words and words[0] in _STATEMENTS:
                if words[0] == "raw":  # copy a raw block through untouched
                    m = re.compile(r"\{%-?\s*endraw\s*-?%\}").search(template, end + 2)
                    stop = m.end() if m else n
                    out.append(template[j:stop])
                    i = stop
                else:
                    out.append(template[j:end + 2])
                    i = end + 2
            else:
                out.append("{{ '{%' }}")
                i = j + 2
        elif two == "{#":
            end = template.find("#}", j + 2)
            if end >= 0 and template[j + 2:j + 3] in (" ", "-", "\n", "\t"):
                out.append(template[j:end + 2])
                i = end + 2
            else:
                out.append("{{ '{#' }}")
                i = j + 2
        else:
            out.append("{")
            i = j + 1
    return "".join(out)


def _compile(template: str, where: str):
    from jinja2 import TemplateSyntaxError, meta

    env = _env()
    source = protect_literal_braces(template)
    try:
        ast = env.parse(source)
        compiled = env.from_string(source)
    except TemplateSyntaxError as exc:
        raise InputError(f"{where}: template error on line {exc.lineno}: {exc.message}; "
                         "fix the Jinja2 syntax (wrap literal text in {% raw %}...{% endraw %})") from None
    variables = sorted(meta.find_undeclared_variables(ast))
    return compiled, variables


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PromptVersion:
    """One immutable version of a named prompt template. `render(**vars)` fills it in."""

    name: str
    version: Optional[int]  # None for a built-in template
    template: str
    sha256: str
    variables: Tuple[str, ...]
    created_at: Optional[float] = None
    run_id: Optional[str] = None
    _compiled: Any = field(default=None, repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}" if self.version is not None else f"{self.name}@builtin"

    @property
    def builtin(self) -> bool:
        return self.version is None

    def _template(self):
        if self._compiled is None:
            compiled, _ = _compile(self.template, f"prompt {self.ref}")
            object.__setattr__(self, "_compiled", compiled)
        return self._compiled

    def render(self, **variables: Any) -> str:
        """The filled-in text. A variable the template uses but that is not given is an InputError naming it."""
        from jinja2 import TemplateError, UndefinedError

        missing = [v for v in self.variables if v not in variables]
        if missing:
            raise InputError(f"prompt {self.ref} needs variable{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(repr(m) for m in missing)} (it uses: {', '.join(self.variables)}); "
                             f"pass {missing[0]}=...")
        try:
            return self._template().render(**variables)
        except UndefinedError as exc:
            raise InputError(f"prompt {self.ref}: {exc.message}; check the values passed to render()") from None
        except TemplateError as exc:
            raise InputError(f"prompt {self.ref} failed to render: {exc}") from None

    def render_chat(self, model: Any, *, system: Optional[str] = None, **variables: Any) -> str:
        """Render, then wrap as a user message through the model's chat template when it has one."""
        return to_chat(model, self.render(**variables), system=system)

    # results protocol ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"ref": self.ref, "name": self.name, "version": self.version, "template": self.template,
                "sha256": self.sha256, "variables": list(self.variables), "created_at": self.created_at,
                "run_id": self.run_id, "builtin": self.builtin}

    def __repr__(self) -> str:
        return f"PromptVersion({self.ref!r}, variables={list(self.variables)})"

    def __str__(self) -> str:
        head = f"{self.ref}  variables: {', '.join(self.variables) or '(none)'}"
        if self.created_at:
            head += f"  created {fmt_time(self.created_at)}"
        return head + "\n" + self.template

    def _repr_html_(self) -> str:
        meta = f"variables: {', '.join(self.variables) or '(none)'}"
        if self.created_at:
            meta += f" · created {fmt_time(self.created_at)}"
        return (f"{STYLE}<div class='llmops-cap'>prompt {esc(self.ref)}</div>"
                f"<div class='llmops-muted'>{esc(meta)}</div>"
                f"<pre style='white-space:pre-wrap'>{esc(self.template)}</pre>")


def to_chat(model: Any, text: str, *, system: Optional[str] = None) -> str:
    """`text` as one user turn through the chat template of `model` (a LoadedModel or a tokenizer), ready
    for generation; plain `text` when the tokenizer has no chat template."""
    tok = getattr(model, "tokenizer", model)
    if tok is None or not getattr(tok, "chat_template", None):
        return text if system is None else f"{system}\n\n{text}"
    messages = ([{"role": "system", "content": system}] if system is not None else []) + \
        [{"role": "user", "content": text}]
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _sha(template: str) -> str:
    return hashlib.sha256(template.encode("utf-8")).hexdigest()


def _from_row(row) -> PromptVersion:
    return PromptVersion(row["name"], row["version"], row["template"], row["sha256"],
                         tuple(json.loads(row["variables"])), row["created_at"], row["run_id"])


def default_prompt(kind: str) -> PromptVersion:
    """A built-in template ("zero-shot", "few-shot", "rag") as an unregistered PromptVersion."""
    if kind not in DEFAULT_TEMPLATES:
        raise not_found("built-in prompt", kind, DEFAULT_TEMPLATES)
    template = DEFAULT_TEMPLATES[kind]
    compiled, variables = _compile(template, f"built-in prompt {kind}")
    return PromptVersion(kind, None, template, _sha(template), tuple(variables), None, None, compiled)


def register_prompt(name: str, template: str) -> PromptVersion:
    """Store `template` as the next version of prompt `name` and return it.

    Versions are immutable. Registering text identical to an existing version returns that version.
    """
    name = check_name("prompt", str(name or "").strip())
    if not isinstance(template, str) or not template.strip():
        raise InputError(f"prompt '{name}': the template is empty; pass the template text "
                         "(in a notebook: the body of a %%llmops prompt cell)")
    compiled, variables = _compile(template, f"prompt '{name}'")
    digest = _sha(template)
    db = workspace().db
    run = active_run()
    now = time.time()
    # One write transaction from the look-up to the insert: two processes registering the same name queue
    # here instead of both taking the next version number.
    with transaction(db):
        seq = db.execute("SELECT coalesce(max(current_seq), 0) + 1 FROM prompts").fetchone()[0]
        row = db.execute("SELECT * FROM prompts WHERE name=? AND sha256=?", (name, digest)).fetchone()
        if row is not None:  # the same text again: that version is what the bare name means from now on
            db.execute("UPDATE prompts SET current_seq=? WHERE id=?", (seq, row["id"]))
            return _from_row(row)
        version = (db.execute("SELECT max(version) FROM prompts WHERE name=?", (name,)).fetchone()[0] or 0) + 1
        db.execute("INSERT INTO prompts (name, version, template, sha256, variables, run_id, created_at, current_seq) "
                   "VALUES (?,?,?,?,?,?,?,?)", (name, version, template, digest, json.dumps(variables),
                                                run.id if run is not None else None, now, seq))
    if run is not None:
        run.record(f"prompt:{name}", f"{name}@v{version}")
    return PromptVersion(name, version, template, digest, tuple(variables), now,
                         run.id if run is not None else None, compiled)


def prompt(ref: Any) -> PromptVersion:
    """A prompt version: "name" (its current version: registered, or registered again, last), "name@v2" (that
    version), "zero-shot@builtin" (a built-in)."""
    if isinstance(ref, PromptVersion):
        return ref
    text = str(ref or "").strip()
    m = _REF.match(text)
    if not m:
        raise InputError(f"prompt reference '{text}' is not valid; use NAME or NAME@vN")
    name, version = m.group("name"), m.group("version")
    if version == "builtin":
        return default_prompt(name)
    db = workspace().db
    if version is None or version == "latest":
        row = db.execute("SELECT * FROM prompts WHERE name=? ORDER BY current_seq DESC, version DESC LIMIT 1",
                         (name,)).fetchone()
    else:
        row = db.execute("SELECT * FROM prompts WHERE name=? AND version=?", (name, int(version))).fetchone()
    if row is not None:
        return _from_row(row)
    if version is None and name in DEFAULT_TEMPLATES:
        return default_prompt(name)
    names = [r[0] for r in db.execute("SELECT DISTINCT name FROM prompts ORDER BY name")]
    if name in names:
        refs = [f"{name}@v{r[0]}" for r in db.execute("SELECT version FROM prompts WHERE name=? ORDER BY version",
                                                       (name,))]
        raise not_found("prompt version", text, refs, hint=f"prompt '{name}' has {', '.join(refs)}")
    choices = names + list(DEFAULT_TEMPLATES)
    raise not_found("prompt", name, choices,
                    hint="" if names else "register one with register_prompt(name, template) or %%llmops prompt NAME")


def prompt_versions(name: str) -> List[PromptVersion]:
    """Every version of one prompt, oldest first."""
    rows = workspace().db.execute("SELECT * FROM prompts WHERE name=? ORDER BY version", (name,)).fetchall()
    if not rows:
        prompt(name)  # raises not-found with a suggestion
        return [default_prompt(name)]
    return [_from_row(r) for r in rows]


class PromptsTable(ResultTable):
    """Prompts in the workspace: the current version of each name (column `latest`), with how many versions it has."""

    columns = ["name", "latest", "versions", "variables", "created", "preview"]
    column_types = {"preview": "longtext"}
    noun = "prompts"

    def display_rows(self) -> List[dict]:
        return self._display()

    def __getitem__(self, i):
        return self.rows[i]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["name", "latest", "versions", "variables", "created_at",
                                                "builtin", "template"])

    def _display(self) -> List[dict]:
        return [{"name": r["name"], "latest": r["latest"], "versions": r["versions"],
                 "variables": ", ".join(r["variables"]), "created": fmt_time(r["created_at"]),
                 "preview": r["template"].replace("\n", " ")[:60]} for r in self.rows]

    def __str__(self) -> str:
        return text_table(self._display(), self.columns) if self.rows else "no prompts yet"

    def __repr__(self) -> str:
        return f"PromptsTable({', '.join(self.names)})"

    def _repr_html_(self) -> str:
        return html_table(self._display(), self.columns, caption=f"{len(self.rows)} prompts")


def prompts(*, builtins: bool = True) -> PromptsTable:
    """The current version of every registered prompt -- the one its bare name means: registered, or registered
    again, last -- (and, unless builtins=False, the built-in templates)."""
    rows = []
    db = workspace().db
    for r in db.execute(
            "SELECT p.*, (SELECT count(*) FROM prompts x WHERE x.name = p.name) n FROM prompts p "
            "WHERE p.id = (SELECT id FROM prompts y WHERE y.name = p.name ORDER BY current_seq DESC, version DESC "
            "LIMIT 1) ORDER BY p.name"):
        rows.append({"name": r["name"], "latest": f"{r['name']}@v{r['version']}", "versions": r["n"],
                     "variables": json.loads(r["variables"]), "created_at": r["created_at"], "builtin": False,
                     "template": r["template"]})
    if builtins:
        taken = {r["name"] for r in rows}
        for kind in DEFAULT_TEMPLATES:
            if kind not in taken:
                p = default_prompt(kind)
                rows.append({"name": kind, "latest": p.ref, "versions": 0, "variables": list(p.variables),
                             "created_at": None, "builtin": True, "template": p.template})
    return PromptsTable(rows)


__all__ = ["DEFAULT_TEMPLATES", "PromptVersion", "PromptsTable", "default_prompt", "prompt", "prompt_versions",
           "prompts", "protect_literal_braces", "register_prompt", "to_chat"]
