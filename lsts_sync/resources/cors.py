"""The CORS policy lsts-sync owns on a bucket: one rule per owner, allowing GET from the browser
origin of every instance whose projects read the bucket through presigned URLs. Other rules are
never changed (``state.CorsState`` carries them as read).
"""

from __future__ import annotations

import json

from lsts_sync.resources.markers import DEFAULT_OWNER

CORS_RULE_ID = "lsts-sync"
EXPOSE_HEADERS = ("x-amz-server-side-encryption", "x-amz-request-id", "x-amz-id-2")


def cors_rule_id(owner: str) -> str:
    """The ID of an owner's CORS rule; the default owner keeps the historical ``lsts-sync``."""
    return CORS_RULE_ID if owner == DEFAULT_OWNER else f"{CORS_RULE_ID}-{owner}"


def canonical_rule(rule: dict[str, object]) -> dict[str, object]:
    """A CORS rule with sorted lists and keys, for comparing."""
    return {k: sorted(v) if isinstance(v, list) else v for k, v in sorted(rule.items())}


def desired_rule(origins: list[str], rule_id: str = CORS_RULE_ID) -> str | None:
    """Our CORS rule for these origins, as canonical JSON; None when no origin needs it."""
    if not origins:
        return None
    rule = {"ID": rule_id, "AllowedMethods": ["GET"], "AllowedOrigins": sorted(set(origins)),
            "AllowedHeaders": ["*"], "ExposeHeaders": list(EXPOSE_HEADERS), "MaxAgeSeconds": 3000}
    return json.dumps(canonical_rule(rule), sort_keys=True)
