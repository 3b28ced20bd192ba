"""Which hand-made storages and webhooks an adopted project's spec takes over, and the filter text
both sides share.

Label Studio imports the objects it lists under ``prefix.rstrip('/') + '/'`` (folder keys skipped)
whose whole key ``re.match``es ``regex_filter``; a spec's ``pattern`` must match the rest of the key
after its ``prefix`` (``filter_text``). A hand-made storage *matches* a spec's storage of the same
project and role when they are the same storage in all but form:

- same bucket and S3 endpoint (trailing ``/`` ignored);
- same prefix once trailing ``/`` are stripped (Label Studio lists both the same way);
- for a source: same ``recursive_scan``, ``use_blob_urls`` on (the spec cannot say off: a task
  would then be the object's JSON, not its URL), and a filter that selects exactly the same keys:
  either the same text, or one that ``pattern_for`` translates exactly into the spec's pattern.

Other differences (presign, presign TTL, region) are fields the spec expresses: adoption shows them
as an update, like any other. Keys with a line break are outside every rule here (``.`` never
matches one): Label Studio's keys come from S3 listings of data files.

A hand-made webhook (no marker header) of the project is a declared webhook's *candidate* when it
calls the same URL (the exact text: a receiver may tell ``/hook`` from ``/hook/``). A candidate
that is the declared webhook exactly (actions, payload, active and header names too) is taken
first; then a declared webhook with one candidate left takes it, whatever else differs (adoption
shows those fields as an update: adopt, then compare). Several candidates for one declared webhook
at the same step are never guessed between (``adopt_webhooks``). Header values are never read, so
they never decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lsts_sync.resources.state import StorageState, WebhookState

_SPECIAL = frozenset(".^$*+?{}[]|()\\")


def filter_text(prefix: str, pattern: str) -> str:
    """The ``regex_filter`` for a spec's ``prefix`` and ``pattern``: Label Studio ``re.match``es it
    against the whole key, so the pattern is anchored behind the escaped prefix."""
    return f"{re.escape(prefix)}(?:{pattern})$"


def _literal(text: str) -> str | None:
    """The plain text a regular expression made only of literal characters (and escaped
    non-alphanumerics like ``\\.``) matches; None for anything else."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text) or text[i + 1].isalnum() or text[i + 1] == "_":
                return None
            out.append(text[i + 1])
            i += 2
            continue
        if char in _SPECIAL:
            return None
        out.append(char)
        i += 1
    return "".join(out)


def pattern_for(prefix: str, regex_filter: str) -> str | None:
    """The spec ``pattern`` that, behind ``prefix``, selects exactly the keys ``regex_filter``
    selects among those Label Studio lists under ``prefix``; None when no such pattern is known.

    Exact translations: an empty filter (everything); lsts-sync's own form (``filter_text``);
    ``.*TEXT`` (TEXT anywhere in the key: ``re.match`` does not anchor the end) and ``.*TEXT$``
    (the key ends with TEXT), TEXT a literal without ``/``, so it never straddles the ``/`` after
    the prefix: it lies in the listed folder (everything matches) or in the rest of the key.
    """
    if not regex_filter:
        return ".*"
    own = f"{re.escape(prefix)}(?:"
    if regex_filter.startswith(own) and regex_filter.endswith(")$"):
        inner = regex_filter[len(own):-2]
        if filter_text(prefix, inner) == regex_filter and _compiles(inner):
            return inner
    if not regex_filter.startswith(".*"):
        return None
    tail = regex_filter[2:]
    anchored = tail.endswith("$") and _literal(tail[:-1]) is not None
    text = _literal(tail[:-1] if anchored else tail)
    if text is None or "/" in text or "\n" in text:
        return None
    if anchored:
        return ".*" + re.escape(text)
    listed = prefix.rstrip("/") + "/" if prefix else ""
    return ".*" if text in listed else ".*" + re.escape(text) + ".*"


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def same_filter(have: StorageState, want: StorageState) -> bool:
    """True when ``have``'s filter selects exactly the keys ``want``'s selects (see the module)."""
    if have.regex_filter == want.regex_filter:
        return True
    pattern = pattern_for(want.prefix, have.regex_filter)
    return pattern is not None and filter_text(want.prefix, pattern) == want.regex_filter


def mismatch(have: StorageState, want: StorageState) -> str | None:
    """Why hand-made ``have`` is not ``want``'s storage in another form (None: it is; see the module)."""
    if have.role != want.role:
        return f"it is a {have.role}, not a {want.role}"
    if have.bucket != want.bucket:
        return f"bucket {have.bucket!r}, the spec's is {want.bucket!r}"
    if have.prefix.rstrip("/") != want.prefix.rstrip("/"):
        return f"prefix {have.prefix!r}, the spec's is {want.prefix!r}"
    if have.s3_endpoint.rstrip("/") != want.s3_endpoint.rstrip("/"):
        return f"S3 endpoint {have.s3_endpoint!r}, the spec's bucket has {want.s3_endpoint!r}"
    if want.role == "target":
        return None
    if have.recursive_scan != want.recursive_scan:
        return f"recursive_scan {have.recursive_scan}, the spec's recursive is {want.recursive_scan}"
    if not have.use_blob_urls:
        return "use_blob_urls is off (its tasks are the objects' JSON); a spec's source always reads URLs"
    if not same_filter(have, want):
        return f"regex_filter {have.regex_filter!r} selects other keys than the spec's {want.regex_filter!r}"
    return None


def match(candidates: Iterable[StorageState], want: StorageState) -> StorageState | None:
    """The hand-made storage (lowest id first) that is ``want``'s in another form, or None."""
    return next((have for have in sorted(candidates, key=lambda s: s.id or 0) if mismatch(have, want) is None), None)


def same_webhook(have: WebhookState, want: WebhookState) -> bool:
    """True when hand-made ``have`` is ``want`` in every compared field but its marker (owner)."""
    return {**have.compared(), "owner": ""} == {**want.compared(), "owner": ""}


@dataclass(frozen=True)
class WebhookAdoption:
    """What ``adopt_webhooks`` decided: ``adopted`` maps a declared webhook's key to the hand-made
    webhook it takes over; ``ambiguous`` maps one to the ids of its candidates when there are
    several (nothing is adopted for it); ``left`` are the hand-made webhooks nobody takes."""

    adopted: dict[tuple[str, str, str], WebhookState] = field(default_factory=dict)
    ambiguous: dict[tuple[str, str, str], tuple[int, ...]] = field(default_factory=dict)
    left: tuple[WebhookState, ...] = ()


def adopt_webhooks(wanted: Sequence[WebhookState], unmarked: Sequence[WebhookState]) -> WebhookAdoption:
    """Pair the declared webhooks ``wanted`` (to be created on projects being adopted) with the
    hand-made webhooks ``unmarked`` of those projects (see the module): first every exact candidate,
    then every remaining one of the same URL; a declared webhook with several candidates at either
    step is ``ambiguous``. Each hand-made webhook is taken at most once; the result does not depend
    on the order of either argument."""
    found = WebhookAdoption()
    taken: set[int | None] = set()
    for exact in (True, False):
        for want in sorted(wanted, key=lambda w: w.key):
            if want.key in found.adopted or want.key in found.ambiguous:
                continue
            candidates = sorted((h for h in unmarked if h.id not in taken and (h.instance, h.project) ==
                                 (want.instance, want.project) and h.url == want.url
                                 and (same_webhook(h, want) or not exact)), key=lambda h: h.id or 0)
            if len(candidates) == 1:
                found.adopted[want.key] = candidates[0]
                taken.add(candidates[0].id)
            elif len(candidates) > 1:
                found.ambiguous[want.key] = tuple(h.id or 0 for h in candidates)
    left = tuple(sorted((h for h in unmarked if h.id not in taken), key=lambda h: h.id or 0))
    return WebhookAdoption(found.adopted, found.ambiguous, left)
