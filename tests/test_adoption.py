"""resources.adoption: the filter translation is exact (checked against Label Studio's own rule on
listed keys), the matching rule names why a storage made by hand is not the spec's, and webhooks made
by hand are paired with declared ones by URL, exact ones first, never by guessing."""

from __future__ import annotations

import itertools
import re

import pytest

from lsts_sync.resources.adoption import adopt_webhooks, filter_text, match, mismatch, pattern_for, same_webhook
from lsts_sync.resources.state import StorageState, WebhookState

NAMES = ["a.csv", "a.csv.bak", "csvfile.txt", "b.CSV", "week-01.csv", "x.json", "mycsv", "7.csv"]


def listed(prefix: str) -> list[str]:
    """Keys Label Studio lists under ``prefix`` (it adds one '/'), non-recursive."""
    base = prefix.rstrip("/") + "/" if prefix else ""
    return [base + name for name in NAMES]


@pytest.mark.parametrize("prefix", ["data/pump-7", "data/pump-7/", "csv/in", ""])
@pytest.mark.parametrize("regex", ["", ".*csv", r".*\.csv", r".*\.csv$", ".*csv$", ".*7", ".*",
                                   r"data/pump\-7/(?:.*\.csv)$"])
def test_a_translated_pattern_selects_exactly_the_keys_label_studio_imports(prefix, regex) -> None:
    pattern = pattern_for(prefix, regex)
    if pattern is None:
        assert regex.startswith("data/") and prefix != "data/pump-7/"  # lsts-sync's form of another prefix
        return
    theirs = [k for k in listed(prefix) if not regex or re.match(regex, k)]
    ours = [k for k in listed(prefix) if re.match(filter_text(prefix, pattern), k)]
    assert ours == theirs


def test_known_forms_translate_and_others_do_not() -> None:
    assert pattern_for("data/pump", ".*csv") == ".*csv.*"  # re.match does not anchor the end
    assert pattern_for("data/pump/", r".*\.csv$") == r".*\.csv"
    assert pattern_for("csv/in", ".*csv") == ".*"  # the folder itself holds the text
    assert pattern_for("p/", "p/(?:.*\\.csv)$") == r".*\.csv"
    for regex in [r"data/pump/week-\d+\.csv", ".*a/b", "(.*csv)", r".*\d", "week.*"]:
        assert pattern_for("data/pump", regex) is None, regex


def storage(**kw) -> StorageState:
    base = dict(instance="local", project="p", role="source", bucket="b", prefix="data/pump/",
                region_name="us-east-1", s3_endpoint="http://s3", regex_filter=filter_text("data/pump/", ".*csv.*"))
    return StorageState(**{**base, **kw})  # type: ignore[arg-type]


def test_matching_ignores_form_and_names_every_real_difference() -> None:
    want = storage()
    assert mismatch(storage(prefix="data/pump", regex_filter=".*csv", owner="", id=3), want) is None
    assert "bucket" in (mismatch(storage(bucket="c"), want) or "")
    assert "prefix" in (mismatch(storage(prefix="data/other"), want) or "")
    assert "endpoint" in (mismatch(storage(s3_endpoint="http://other"), want) or "")
    assert "recursive" in (mismatch(storage(recursive_scan=True), want) or "")
    assert "use_blob_urls" in (mismatch(storage(use_blob_urls=False), want) or "")
    assert "selects other keys" in (mismatch(storage(regex_filter=r".*\.csv"), want) or "")
    assert "target" in (mismatch(storage(role="target"), want) or "")


def test_the_lowest_matching_id_is_taken() -> None:
    want = storage()
    odd, first, second = storage(id=1, bucket="c"), storage(id=4), storage(id=2)
    assert match([odd, first, second], want) == second
    assert match([odd], want) is None


HOOK = "https://ci.example.com/hook"


def declared(name: str, url: str = HOOK, **fields) -> WebhookState:
    return WebhookState("local", "pump-7", name, url, **fields)


def by_hand(hook_id: int, url: str = HOOK, **fields) -> WebhookState:
    """A webhook made by hand on pump-7 (no marker: owner and name empty)."""
    return WebhookState("local", "pump-7", "", url, owner="", id=hook_id, **fields)


def test_a_webhook_made_by_hand_with_the_spec_url_is_adopted_whatever_else_differs() -> None:
    found = adopt_webhooks([declared("ci")], [by_hand(7, send_payload=False), by_hand(8, url=HOOK + "/")])
    assert {k: h.id for k, h in found.adopted.items()} == {("local", "pump-7", "ci"): 7}
    assert found.ambiguous == {} and [h.id for h in found.left] == [8]  # the URL's exact text decides
    assert same_webhook(by_hand(7), declared("ci")) and not same_webhook(by_hand(7, send_payload=False), declared("ci"))


def test_two_candidates_are_never_guessed_between() -> None:
    found = adopt_webhooks([declared("ci", all_actions=False, actions=("ANNOTATION_CREATED",))],
                           [by_hand(9, headers=("Authorization",)), by_hand(7)])
    assert found.adopted == {} and found.ambiguous == {("local", "pump-7", "ci"): (7, 9)}
    assert [h.id for h in found.left] == [7, 9]
    alike = adopt_webhooks([declared("ci")], [by_hand(7), by_hand(9)])  # even alike in every field read
    assert alike.adopted == {} and alike.ambiguous == {("local", "pump-7", "ci"): (7, 9)}


def test_exact_candidates_are_taken_first_then_the_one_left_by_url() -> None:
    created = declared("created", all_actions=False, actions=("ANNOTATION_CREATED",))
    loose = declared("loose", all_actions=False, actions=("PROJECT_UPDATED",))
    hooks = [by_hand(7, all_actions=False, actions=("ANNOTATION_UPDATED",)), by_hand(8, all_actions=False,
                                                                                     actions=("ANNOTATION_CREATED",))]
    for wanted, unmarked in itertools.product(itertools.permutations([loose, created]), itertools.permutations(hooks)):
        found = adopt_webhooks(list(wanted), list(unmarked))
        assert {k[2]: h.id for k, h in found.adopted.items()} == {"created": 8, "loose": 7}
        assert found.ambiguous == {} and found.left == ()


def test_each_webhook_made_by_hand_is_adopted_once_and_only_in_its_own_project() -> None:
    other = WebhookState("local", "pump-8", "", HOOK, owner="", id=5)
    found = adopt_webhooks([declared("one"), declared("two")], [other, by_hand(7)])
    assert {k[2]: h.id for k, h in found.adopted.items()} == {"one": 7}  # "two" is created
    assert [h.id for h in found.left] == [5]
