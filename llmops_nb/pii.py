"""PII detection and redaction on plain text: the detectors (regex + validator: Luhn for cards, mod-97 for IBANs,
`ipaddress` for IPs, entropy for generic secrets), `find_pii` and `redact`. Pure and low-level, so both the curation
`pii` step (data) and the trace log (tracking) use the same code; `redact_text` is the one-call form.
"""
from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .errors import InputError


@dataclass(frozen=True)
class Detector:
    name: str
    placeholder: str
    pattern: re.Pattern
    valid: Callable[[str], bool] = lambda s: True
    group: int = 0  # the regex group that is the PII itself (the value after 'key=' for generic secrets)
    priority: int = 0  # when spans overlap, the higher priority wins
    hints: Tuple[str, ...] = ()  # substrings one of which must be present (cheap test before the regex)
    lower_hints: bool = False  # test hints against the lower-cased text
    digits: bool = False  # the text must contain a digit


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Issuer prefixes and the lengths each issues (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay,
# Maestro): with Luhn this keeps random digit runs (1 in 10 passes Luhn alone) from being called cards.
_CARD_BRANDS = [
    (re.compile(r"^4"), (13, 16, 19)),
    (re.compile(r"^(5[1-5]|2(2[2-9][1-9]|2[3-9]|[3-6]|7[01]|720))"), (16,)),
    (re.compile(r"^3[47]"), (15,)),
    (re.compile(r"^(6011|65|64[4-9])"), (16, 17, 18, 19)),
    (re.compile(r"^35(2[89]|[3-8])"), (16, 17, 18, 19)),
    (re.compile(r"^3(0[0-5]|[689])"), (14, 15, 16, 17, 18, 19)),
    (re.compile(r"^62"), (16, 17, 18, 19)),
    (re.compile(r"^(50|5[6-8]|6)"), (12, 13, 14, 15, 16, 17, 18, 19)),
]


def card_ok(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return luhn_ok(digits) and any(p.match(digits) and len(digits) in lengths for p, lengths in _CARD_BRANDS)


_IBAN_LENGTHS = {"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
                 "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
                 "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
                 "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
                 "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
                 "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
                 "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20}


def iban_ok(text: str) -> bool:
    s = re.sub(r"\s", "", text).upper()
    if _IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def ip_ok(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    if ip.version == 6:
        return text.count(":") >= 2 and len([g for g in text.split(":") if g]) >= 3  # not a '[::2]' slice
    return True


_DATE = re.compile(r"^(\d{4}[-./ ]\d{1,2}[-./ ]\d{1,2}|\d{1,2}[-./ ]\d{1,2}[-./ ]\d{2,4})(\D|$)")


def phone_ok(text: str) -> bool:
    """9-15 digits, not a date, a country code that does not start with 0; without '+' or '(' at least 10."""
    digits = re.sub(r"\D", "", text)
    if not 9 <= len(digits) <= 15 or len(set(digits)) <= 2 or _DATE.match(text):
        return False
    if text.startswith("+"):
        return digits[0] != "0"
    return len(digits) >= 10 or text.startswith("(")


def entropy(s: str) -> float:
    if not s:
        return 0.0
    counts = Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


def secret_value_ok(value: str) -> bool:
    """A value after 'api_key=' etc. that looks generated: long, mixed letters and digits, high entropy."""
    return (len(value) >= 16 and entropy(value) >= 3.5 and any(c.isdigit() for c in value)
            and any(c.isalpha() for c in value))


_DIGIT = re.compile(r"\d")
# Each pattern starts with a lookahead on its first character before the lookbehind: re then rejects
# most positions on one character test instead of evaluating the lookbehind everywhere.
_B = r"(?<![\w.+-])"  # not glued to a word, number or email-ish text before
_E = r"(?![\w-])"
DETECTORS: List[Detector] = [
    Detector("private_key", "<SECRET>", re.compile(
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----"), priority=9,
        hints=("PRIVATE KEY",)),
    Detector("aws_key", "<SECRET>", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), priority=8,
             hints=("AKIA", "ASIA", "AGPA", "AIDA", "AROA")),
    Detector("github_token", "<SECRET>", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
             priority=8, hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    Detector("openai_key", "<SECRET>", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}\b"), priority=8,
             hints=("sk-",)),
    Detector("slack_token", "<SECRET>", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), priority=8, hints=("xox",)),
    Detector("google_api_key", "<SECRET>", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), priority=8, hints=("AIza",)),
    Detector("jwt", "<SECRET>", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), priority=8,
             hints=("eyJ",)),
    Detector("secret", "<SECRET>", re.compile(
        r"(?i)\b(?:api[_-]?key|apikey|secret(?:[_-]?key)?|client[_-]?secret|access[_-]?(?:key|token)|auth[_-]?token|"
        r"token|password|passwd|pwd)\b[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9+/_\-.=~]{16,})"),
        secret_value_ok, group=1, priority=7, hints=("key", "secret", "token", "pass", "pwd"), lower_hints=True),
    Detector("email", "<EMAIL>", re.compile(
        r"(?=[A-Za-z0-9])(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"), priority=6,
        hints=("@",)),
    Detector("iban", "<IBAN>", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"), iban_ok,
             priority=5, digits=True),
    Detector("credit_card", "<CREDIT_CARD>", re.compile(r"(?=\d)" + _B + r"(?:\d[ -]?){12,18}\d" + _E), card_ok, priority=4,
             digits=True),
    Detector("ipv6", "<IP>", re.compile(
        r"(?=[0-9A-Fa-f])(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,6}|[0-9A-Fa-f]{1,4})(?![\w:])|"
        r"(?=:)(?<![\w:.])::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4}(?![\w:])"), ip_ok, priority=3,
        hints=(":",)),
    Detector("ipv4", "<IP>", re.compile(r"(?=\d)(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)"), ip_ok, priority=3, hints=(".",),
             digits=True),
    Detector("phone", "<PHONE>", re.compile(
        r"(?=[+(\d])" + _B + r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}" + _E +
        r"|(?=\+)" + _B + r"\+\d{9,15}" + _E), phone_ok, priority=2, digits=True),
]
TYPES = {d.name: d for d in DETECTORS}
# Families a user names in `types=` (each covers one or more detectors)
GROUPS: Dict[str, Tuple[str, ...]] = {
    "email": ("email",), "phone": ("phone",), "ip": ("ipv4", "ipv6"), "credit_card": ("credit_card",),
    "iban": ("iban",), "secret": ("private_key", "aws_key", "github_token", "openai_key", "slack_token",
                                  "google_api_key", "jwt", "secret"),
}
KIND = {d: g for g, ds in GROUPS.items() for d in ds}


@dataclass
class Match:
    start: int
    end: int
    detector: str

    @property
    def kind(self) -> str:
        return KIND[self.detector]


def find_pii(text: str, types: Optional[Sequence[str]] = None) -> List[Match]:
    """Non-overlapping PII spans, in text order."""
    wanted = detectors(types)
    found: List[Tuple[int, int, int, str]] = []
    lower = None
    has_digit = _DIGIT.search(text) is not None
    for det in wanted:
        if det.digits and not has_digit:
            continue
        if det.hints:
            if det.lower_hints:
                lower = text.lower() if lower is None else lower
                if not any(h in lower for h in det.hints):
                    continue
            elif not any(h in text for h in det.hints):
                continue
        for m in det.pattern.finditer(text):
            s, e = m.span(det.group)
            if s < 0:
                continue
            if det.valid(m.group(det.group)):
                found.append((s, e, det.priority, det.name))
    found.sort(key=lambda t: (-t[2], t[0]))
    taken: List[Tuple[int, int]] = []
    out: List[Match] = []
    for s, e, _, name in found:
        if any(s < te and ts < e for ts, te in taken):
            continue
        taken.append((s, e))
        out.append(Match(s, e, name))
    out.sort(key=lambda m: m.start)
    return out


def detectors(types: Optional[Sequence[str]]) -> List[Detector]:
    if types is None:
        return DETECTORS
    if isinstance(types, str):
        types = [t.strip() for t in types.split(",") if t.strip()]
    names = set()
    for t in types:
        if t in GROUPS:
            names.update(GROUPS[t])
        elif t in TYPES:
            names.add(t)
        else:
            from .errors import did_you_mean

            raise InputError(f"unknown PII type '{t}'{did_you_mean(t, list(GROUPS) + list(TYPES))}; "
                             f"types: {', '.join(GROUPS)}")
    return [d for d in DETECTORS if d.name in names]


def redact(text: str, matches: List[Match]) -> str:
    out, last = [], 0
    for m in matches:
        out.append(text[last:m.start])
        out.append(TYPES[m.detector].placeholder)
        last = m.end
    out.append(text[last:])
    return "".join(out)


def redact_text(text: str) -> str:
    """`text` with every PII span (all kinds) replaced by its typed placeholder."""
    matches = find_pii(text)
    return redact(text, matches) if matches else text
