"""What a RAG answer does with its numbered passages: which passages it cites as [n], and whether it abstains
("the passages do not say") instead of answering. Pure functions of the answer text."""
from __future__ import annotations

import re
from typing import List, Optional, Sequence

_CITE = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;&]\s*\d{1,3}|\s*(?:and|-|–)\s*\d{1,3})*)\s*\]")
_NUM = re.compile(r"\d{1,3}")
_RANGE = re.compile(r"(\d{1,3})\s*[-–]\s*(\d{1,3})")

# An abstention says the answer is not known or not in the given text. Matched on the lowercased answer with
# straight apostrophes; "unknown" alone is not one (Python has unknown attributes and the like).
_ABSTAIN = re.compile(
    r"\b(?:"
    r"i (?:do not|don't|dont|cannot|can't|am unable to|'m unable to|am not able to) (?:know|answer|find|tell|say|determine)"
    r"|i'm not sure|i am not sure|not sure"
    r"|(?:passages?|context|text|documents?|sources?) (?:above |provided |given )?(?:do not|does not|don't|doesn't|"
    r"did not|didn't|cannot|can't) (?:contain|mention|say|include|provide|answer|cover|specify|address|state|explain)"
    r"|(?:is |are )?not (?:in|mentioned in|found in|provided in|given in|covered (?:in|by)|stated in|included in|"
    r"answered (?:in|by)|specified in|discussed in) the (?:passages?|context|text|documents?|sources?|information)"
    r"|no (?:information|mention|answer) (?:about|on|of|in|is|for|to)"
    r"|(?:cannot|can't|can not) be (?:answered|determined)"
    r"|there is no (?:passage|information|mention)"
    r")")


def cited_numbers(answer: Optional[str]) -> List[int]:
    """Passage numbers an answer cites, in order of first mention: [1], [1, 2], [1][3], [2-3] (a range)."""
    out: List[int] = []
    for m in _CITE.finditer(answer or ""):
        group = m.group(1)
        nums: List[int] = []
        for r in _RANGE.finditer(group):
            lo, hi = int(r.group(1)), int(r.group(2))
            if lo <= hi <= lo + 20:
                nums += range(lo, hi + 1)
        nums += [int(x) for x in _NUM.findall(_RANGE.sub(" ", group))]
        out += [n for n in nums if n not in out]
    return out


def abstains(answer: Optional[str]) -> bool:
    """True when the answer declines: says it does not know, or that the passages do not contain the answer."""
    text = (answer or "").lower().replace("’", "'")
    return bool(_ABSTAIN.search(text))


def cited_ids(answer: Optional[str], passage_ids: Sequence[str]) -> tuple:
    """(ids of the passages the answer cites, how many cited numbers name no passage: [4] with 2 passages)."""
    nums = cited_numbers(answer)
    valid = [passage_ids[n - 1] for n in nums if 1 <= n <= len(passage_ids)]
    return valid, sum(1 for n in nums if not 1 <= n <= len(passage_ids))


__all__ = ["abstains", "cited_ids", "cited_numbers"]
