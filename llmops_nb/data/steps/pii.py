"""`pii`: find personal data and secrets, then redact them with typed placeholders, drop the record, or flag it.
The detectors live in llmops_nb/pii.py (shared with the trace log).

Each detector is a regex for candidates plus a validator (Luhn for cards, mod-97 for IBANs, `ipaddress`
for IPs, entropy for generic secrets), so numbers that merely look like one are left alone.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Iterator, Optional, Sequence

from ...errors import InputError
from ...pii import detectors, find_pii, iban_ok, luhn_ok, redact  # noqa: F401 (iban_ok, luhn_ok re-exported)
from . import StepContext, step


@step("pii", primary="mode", can_flag=True, choices={"mode": ("redact", "drop", "flag")})
def pii(records: Iterable[dict], ctx: StepContext, *, mode: str = "redact", types: Optional[Sequence[str]] = None,
        keep_originals: bool = False) -> Iterator[dict]:
    """Find emails, phone numbers, IPv4/IPv6 addresses, credit-card numbers (Luhn-checked), IBANs (mod-97
    checked) and secrets (AWS/GitHub/OpenAI/Slack/Google keys, JWTs, private keys, high-entropy values
    after 'api_key=', 'token:', 'password=' ...).

    `mode`: "redact" (default) replaces each with <EMAIL>, <PHONE>, <IP>, <CREDIT_CARD>, <IBAN> or
    <SECRET>; "drop" removes the record (reason: the kinds found, e.g. "email+phone"); "flag" keeps it
    and adds "pii:KIND" to its `_flags`. `types` limits the kinds (e.g. ["email", "secret"]).
    Redacted originals are NOT kept in the workspace unless `keep_originals=True` (the point of redacting
    is that the PII leaves the data); drops are kept like every removal, so they can be reverted.
    """
    if mode not in ("redact", "drop", "flag"):
        raise InputError(f"pii mode must be 'redact', 'drop' or 'flag', got '{mode}'")
    detectors(types)  # validate before streaming
    found_kinds: Counter = Counter()
    for rec in records:
        matches = find_pii(rec["text"], types)
        if not matches:
            yield rec
            continue
        kinds = Counter(m.kind for m in matches)
        found_kinds.update(kinds)
        reason = "+".join(sorted(kinds))
        detail = {"found": dict(kinds), "detectors": sorted({m.detector for m in matches})}
        if mode == "redact":
            ctx.edit(rec, reason, keep_original=keep_originals, **detail)
            yield {**rec, "text": redact(rec["text"], matches)}
        elif mode == "drop":
            ctx.remove(rec, reason, **detail)
        else:
            for kind in sorted(kinds):
                rec = ctx.flag(rec, kind, **detail)
            yield rec
    ctx.metrics["found"] = dict(found_kinds)
