"""The streaming reader of a top-level JSON array: chunk boundaries anywhere, and failing closed."""

from __future__ import annotations

import io
import json
import tempfile

import pytest

from lsts_sync.core.jsonstream import JsonArrayFile, JsonStreamError, iter_array

TASKS = [
    {"id": 1, "data": {"csv": "s3://b/a \\\"q\\\".csv"}, "note": "comma, ] bracket [ and \\u00e9 \u00e9",
     "annotations": [{"id": 10, "result": [{"value": {"start": 12.5, "end": 1e3, "labels": ["A\\nB"]}}]}]},
    {"id": 2, "text": "\u65e5\u672c \U0001f600 emoji", "empty": [], "n": -0.25, "t": True, "f": False, "z": None},
    12345678901234567890,
    "a string with \\\" escaped quotes\\\\",
    [],
]


def read(data: bytes, chunk: int) -> list:
    return list(iter_array(io.BytesIO(data), chunk=chunk))


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64, 1 << 20])
def test_every_chunk_size_gives_the_elements_json_loads_gives(chunk: int) -> None:
    data = json.dumps(TASKS, ensure_ascii=False).encode()
    assert read(data, chunk) == json.loads(data) == TASKS


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_numbers_cut_at_a_chunk_boundary_are_read_whole(chunk: int) -> None:
    assert read(b"[1234567,89, 1.5e10 ,-7]", chunk) == [1234567, 89, 1.5e10, -7]
    assert read(b"[true,false,null]", chunk) == [True, False, None]


@pytest.mark.parametrize("data", [b"[]", b"  [ ]\n", b"\xef\xbb\xbf[]"])
def test_an_empty_array_yields_nothing(data: bytes) -> None:
    assert read(data, 1) == [] and read(data, 1 << 20) == []


def test_elements_are_yielded_before_the_rest_is_read() -> None:
    source = io.BytesIO(b'[{"id": 1}, {"id": 2}, ' + b" " * 10_000 + b"{]")
    elements = iter_array(source, chunk=64)
    assert next(elements) == {"id": 1}
    assert source.tell() < 1000  # the bad tail has not been read yet
    assert next(elements) == {"id": 2}
    with pytest.raises(JsonStreamError, match="invalid JSON"):
        next(elements)


BAD = {
    "an object": (b'{"detail": "error"}', "expected a JSON array, found '{' at character 0"),
    "a number": (b"42", "expected a JSON array, found '4'"),
    "nothing": (b"", "expected a JSON array, found the end of the data"),
    "an HTML page": (b"<html>", "expected a JSON array, found '<'"),
    "cut after an element": (b'[{"id": 1},', "invalid JSON"),
    "cut inside an element": (b'[{"id": 1}, {"id"', "invalid JSON"),
    "cut before the bracket": (b'[{"id": 1}', "expected ',' or ']' in the array, found the end of the data"),
    "a trailing comma": (b'[{"id": 1},]', "invalid JSON"),
    "a missing comma": (b'[{"id": 1} {"id": 2}]', "expected ',' or ']' in the array, found '{'"),
    "text after the array": (b'[{"id": 1}] []', "text after the end of the array"),
    "a leading comma": (b"[,1]", "invalid JSON"),
    "not UTF-8": (b'["\xff"]', "not UTF-8"),
}


@pytest.mark.parametrize("data, message", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("chunk", [1, 4, 1 << 20])
def test_anything_but_one_well_formed_array_fails_closed(data: bytes, message: str, chunk: int) -> None:
    with pytest.raises(JsonStreamError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read(data, chunk)


def test_a_large_element_is_read_in_linear_steps() -> None:
    """One element far larger than a chunk: the buffer grows by doubling, so it takes few reads."""
    big = {"result": [{"start": i, "end": i + 1} for i in range(20_000)]}
    data = json.dumps([big, big]).encode()

    class Counting(io.BytesIO):
        reads = 0

        def read(self, size: int = -1) -> bytes:  # type: ignore[override]
            Counting.reads += 1
            return super().read(size)

    assert list(iter_array(Counting(data), chunk=1024)) == [big, big]
    assert Counting.reads < 40  # about log2(len / 1024) per element, not len / 1024 (about 700)


def in_file(data: bytes) -> JsonArrayFile:
    file = tempfile.TemporaryFile()  # noqa: SIM115  (the array owns it: iterating closes it)
    file.write(data)
    return JsonArrayFile(file)


def test_texts_are_each_elements_json_text_and_iterating_after_them_starts_over() -> None:
    data = json.dumps(TASKS, ensure_ascii=False, indent=1).encode()
    array = in_file(data)
    texts = array.texts()
    assert texts is not None
    assert [json.loads(bytes(text)) for text in texts] == TASKS
    assert list(array) == TASKS
    assert array.source.closed  # iterating to the end closes the file


@pytest.mark.parametrize("data", [b"", b"[1, NaN]", b"\xef\xbb\xbf[1]", b'{"a": 1}', b"[1] [2]", b"[1, 2"],
                         ids=["empty", "NaN", "byte-order mark", "an object", "text after the array", "cut"])
def test_no_texts_where_msgspec_does_not_read_one_array_and_iterating_still_decides(data: bytes) -> None:
    array = in_file(data)
    assert array.texts() is None
    try:
        expected: list | None = read(data, 1 << 20)
    except JsonStreamError:
        expected = None
    if expected is None:
        with pytest.raises(JsonStreamError):
            list(array)
    else:
        assert list(array) == expected


def test_no_texts_from_a_file_without_a_descriptor() -> None:
    array = JsonArrayFile(io.BytesIO(b"[1, 2]"))
    assert array.texts() is None
    assert list(array) == [1, 2]
