"""Rebuild pydoc_qa.jsonl (eval) and pydoc_train.jsonl (fine-tuning) from `pydoc_data.topics`.

    python -m llmops_nb.data.eval.build          # rewrites both files next to this module
    python -m llmops_nb.data.eval.build --check  # verifies the shipped files match, writes nothing

The eval pairs are hand-written (questions.py). Each carries an `evidence` pattern that must match the text of its
pydoc topic, so every answer is checked against the reference it claims to come from (the pattern is not
shipped). The training pairs are generated from the topic texts (the first sentence of a topic, of a
str/dict method's description, of a special method's description) plus a few hand-written ones, and then
filtered so that none repeats an eval question or an eval answer (see `_contaminated`).
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Dict, List

from .questions import EVAL, EXCLUDE_METHODS, TRAIN_HANDWRITTEN

HERE = Path(__file__).resolve().parent

def _clean(text: str) -> str:
    text = " ".join(text.split())
    text = re.sub(r"\s*\[\d+\]", "", text)  # footnote marks
    text = re.sub(r"\*([^*\s][^*]*?)\*", r"\1", text)  # *emphasis*
    text = re.sub(r"\"([^\"\s][^\"]*?)\"", r"\1", text)  # "code" as pydoc quotes it
    return text.strip()


def _first_sentence(paragraph: str, max_words: int = 32) -> str:
    text = _clean(paragraph)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text)
    first = parts[0].strip() if parts else ""
    if not first or len(first.split()) > max_words or len(first.split()) < 3:
        return ""
    if "::=" in first or "===" in first or "***" in first or not first[0].isupper() \
            or first.startswith(("New in version", "Changed in version", "Deprecated")):
        return ""  # a grammar rule or a heading, not a sentence
    first = first.rstrip(":").rstrip()
    return first if first.endswith((".", "!", "?")) else first + "."


def _pick(seq, key: str):
    return seq[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(seq)]


def _topic_pairs(topics: Dict[str, str]) -> List[dict]:
    out = []
    for key in sorted(topics):
        text = topics[key]
        lines = text.splitlines()
        if len(lines) < 3 or not set(lines[1].strip()) <= {"*", "="}:
            continue
        title = _clean(lines[0])
        body = "\n".join(lines[2:]).strip()
        paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip() and not p.startswith("   ")]
        if not paragraphs:
            continue
        answer = _first_sentence(paragraphs[0])
        if not answer:
            continue
        q = _pick(["What does the reference section '{t}' describe?", "Summarize '{t}' in one sentence.",
                   "What is '{t}' about?"], key).format(t=title)
        out.append({"prompt": q, "response": answer, "topic": key})
    return out


def _method_pairs(topics: Dict[str, str]) -> List[dict]:
    out = []
    text = topics["string-methods"]
    for m in re.finditer(r"^str\.(\w+)\(([^)\n]*)\)\n\n((?:   \S.*\n)+)", text, re.M):
        name, desc = m.group(1), m.group(3)
        if name in EXCLUDE_METHODS:
            continue
        answer = _first_sentence(desc)
        if answer:
            q = _pick(["What does str.{n}() do?", "What is str.{n}() for?", "Explain str.{n}() briefly."],
                      name).format(n=name)
            out.append({"prompt": q, "response": answer, "topic": "string-methods"})
    text = topics["typesmapping"]
    for m in re.finditer(r"^   (\w+)\(([^)\n]*)\)\n\n((?:      \S.*\n)+)", text, re.M):
        name, desc = m.group(1), m.group(3)
        if name in EXCLUDE_METHODS or name in ("items", "keys") or not hasattr(dict, name):
            continue
        answer = _first_sentence(desc)
        if answer:
            out.append({"prompt": _pick(["What does dict.{n}() do?", "What is the dict method {n}() for?"],
                                        name).format(n=name), "response": answer, "topic": "typesmapping"})
    seen = set()
    for key in ("specialnames", "customization", "attribute-access", "numeric-types", "sequence-types",
                "context-managers", "async"):
        for m in re.finditer(r"^object\.(__\w+__)\(([^)\n]*)\)\n(?:object\..*\n)*\n((?:   \S.*\n)+)", topics[key], re.M):
            name, desc = m.group(1), m.group(3)
            if name in EXCLUDE_METHODS or name in seen:
                continue
            seen.add(name)
            answer = _first_sentence(desc)
            if answer:
                q = _pick(["What is the special method {n}() for?", "When is {n}() called?",
                           "What does defining {n}() on a class do?"], name).format(n=name)
                out.append({"prompt": q, "response": answer, "topic": key})
    return out


def _tokens(text: str) -> List[str]:
    return re.findall(r"[a-z0-9_]+", text.lower())


_STOP = set("a an the of to in on at by for with and or is are be it its this that what which when where how "
             "why do does did can i my me you your called call x y s".split())


def _overlap(a: str, b: str, *, content: bool = False) -> float:
    """Token F1 between two strings (content=True: without stop words)."""
    ta, tb = _tokens(a), _tokens(b)
    if content:
        ta, tb = [t for t in ta if t not in _STOP], [t for t in tb if t not in _STOP]
    if not ta or not tb:
        return 0.0
    common = sum(min(ta.count(t), tb.count(t)) for t in set(ta))
    if not common:
        return 0.0
    p, r = common / len(ta), common / len(tb)
    return 2 * p * r / (p + r)


def _covers(text: str, question: str) -> float:
    """The share of the question's content words that `text` contains: a training answer that covers most of an
    eval question states the fact it asks about."""
    q = {t for t in _tokens(question) if t not in _STOP}
    if len(q) < 4:
        return 0.0
    words = {t for t in _tokens(text) if t not in _STOP}
    words |= {w[:-1] for w in words if w.endswith("s")}  # binds ~ bind, operators ~ operator
    return len(q & words) / len(q)


def _contaminated(pair: dict, evals: List[dict]) -> bool:
    """A training pair that repeats an eval question or teaches an eval answer (near-verbatim) is dropped."""
    for e in evals:
        if _overlap(pair["prompt"], e["question"]) >= 0.8:
            return True
        if len(_tokens(e["answer"])) >= 4 and _overlap(pair["response"], e["answer"]) >= 0.6:
            return True
        if _covers(pair["response"], e["question"]) >= 0.75:
            return True
    return False


def build() -> Dict[str, List[dict]]:
    from pydoc_data.topics import topics

    evals = []
    for i, (q, a, topic, evidence) in enumerate(EVAL, 1):
        if topic not in topics:
            raise SystemExit(f"eval {i}: unknown pydoc topic {topic!r}")
        if not re.search(evidence, " ".join(topics[topic].split())):  # evidence is matched on collapsed whitespace
            raise SystemExit(f"eval {i} ({q!r}): evidence {evidence!r} not found in topic {topic!r}")
        evals.append({"id": f"pydoc-qa-{i:03d}", "question": q, "answer": a, "topic": topic})
    candidates = [{"prompt": q, "response": a, "topic": t} for q, a, t in TRAIN_HANDWRITTEN]
    candidates += _method_pairs(topics) + _topic_pairs(topics)
    train, seen = [], set()
    for pair in candidates:
        if pair["prompt"] in seen or pair["response"] in seen or _contaminated(pair, evals):
            continue
        seen.update((pair["prompt"], pair["response"]))
        train.append({"id": f"pydoc-train-{len(train) + 1:03d}", **pair})
    return {"pydoc_qa.jsonl": evals, "pydoc_train.jsonl": train}


def _dump(rows: List[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    files = build()
    for name, rows in files.items():
        target = HERE / name
        if "--check" in argv:
            if not target.exists() or target.read_text(encoding="utf-8") != _dump(rows):
                print(f"{name} is out of date; run python -m llmops_nb.data.eval.build")
                return 1
        else:
            target.write_text(_dump(rows), encoding="utf-8")
        print(f"{name}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
