"""dense.needs_trim against the regular expression it replaces, on the same texts."""

import itertools
import re

from lsts_sync.labels.dense import needs_trim

RULE = re.compile(r"^[ \t]|[ \t]\r?$|\r(?!\n)", re.M)
PIECES = ["a", ",", " ", "\t", "\r", "\n", "\r\n", "1"]


def test_the_same_answer_as_the_regular_expression_on_every_short_text() -> None:
    checked = 0
    for size in range(1, 6):
        for parts in itertools.product(PIECES, repeat=size):
            text = "".join(parts)
            assert needs_trim(text) == bool(RULE.search(text)), repr(text)
            checked += 1
    assert checked > 30000


def test_clean_and_untidy_files() -> None:
    assert not needs_trim("t,v\n2021-01-01 00:00:00,1\n")
    assert not needs_trim("t,v\r\n1,2\r\n")
    assert needs_trim("t,v\n 1,2\n")
    assert needs_trim("t,v\n1,2 \r\n")
    assert needs_trim("t,v\r1,2")
