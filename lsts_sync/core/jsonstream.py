"""Read a top-level JSON array one element at a time, so memory follows one element, not the text.

An export snapshot of a large project is hundreds of megabytes of JSON; ``json.loads`` would hold
the text and every decoded task at once. ``iter_array`` decodes UTF-8 incrementally from a binary
file and hands each element to the caller as soon as it is complete (``json.JSONDecoder.raw_decode``
over a sliding buffer), then forgets it: memory holds the buffer (about one chunk, or one element if
an element is larger) plus what the caller keeps.

A streaming parser dependency (ijson) would not earn its place, since the elements (tasks) are
small next to the whole and ``raw_decode`` is the C decoder.

Fails closed: anything but one array (an object, a number, text after the closing bracket, a cut
file, invalid JSON) raises ``JsonStreamError``; it never yields a partial element.

``JsonArrayFile`` wraps an array in a file for a reader that can do better than the generic decoder:
``texts()`` gives each element's JSON text from a memory map of the file (msgspec finds where each
element ends, at about 1 GB/s), so the reader decodes each element into types of its own
(``labels.fastread``); iterating it is ``iter_array``.
"""

from __future__ import annotations

import codecs
import io
import json
import mmap
from collections.abc import Iterator
from typing import Any, BinaryIO

CHUNK = 1 << 20  # bytes read at a time
_WHITESPACE = " \t\n\r"
_NUMBER_START = "-0123456789"
_AFTER_NUMBER = _WHITESPACE + ",]"  # what may follow a whole number inside an array


class JsonStreamError(ValueError):
    """The stream is not one well-formed JSON array; the message says what was found and where."""


class _Reader:
    """Text decoded from ``source`` on demand; ``buffer[pos:]`` is what is not consumed yet."""

    def __init__(self, source: BinaryIO, chunk: int):
        self.source, self.chunk = source, chunk
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buffer, self.pos, self.offset, self.eof = "", 0, 0, False

    def more(self, at_least: int) -> bool:
        """Append at least ``at_least`` more bytes' worth of text (less at the end); False at the end."""
        if self.eof:
            return False
        data = self.source.read(max(at_least, self.chunk))
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise JsonStreamError(f"not UTF-8 text near character {self.offset + len(self.buffer)}: {exc.reason}") \
                from None
        self.offset += self.pos
        self.buffer = self.buffer[self.pos:] + text  # drop what was consumed before growing
        self.pos = 0
        self.eof = not data
        return True

    def skip_space(self) -> str:
        """The next character that is not whitespace ('' at the end), left unconsumed."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.more(self.chunk):
                return ""

    def where(self) -> int:
        return self.offset + self.pos


def iter_array(source: BinaryIO, chunk: int = CHUNK) -> Iterator[Any]:
    """Each element of the JSON array in ``source`` (a binary file), in order.

    An element is taken once it is complete and the buffer holds what follows it (a number only
    when a separator follows, since ``1.5e10`` cut after ``1.`` decodes as 1), so a value cut at a
    chunk boundary is never read short. A buffer that does not yet
    hold a whole element grows by at least its own size per read, so a large element costs linear
    time. Raises ``JsonStreamError`` for anything but one array.
    """
    reader = _Reader(source, chunk)
    decoder = json.JSONDecoder()
    first = reader.skip_space()
    if first != "[":
        raise JsonStreamError(f"expected a JSON array, found {_shown(first)} at character {reader.where()}")
    reader.pos += 1
    expect_value = False  # after '[' the array may close; after ',' a value must follow
    while True:
        following = reader.skip_space()
        if following == "]" and not expect_value:
            reader.pos += 1
            break
        yield _element(reader, decoder)
        following = reader.skip_space()
        if following == ",":
            reader.pos += 1
            expect_value = True
        elif following != "]":
            raise JsonStreamError(f"expected ',' or ']' in the array, found {_shown(following)} at character "
                                  f"{reader.where()}")
        else:
            expect_value = False
    if reader.skip_space():
        raise JsonStreamError(f"text after the end of the array at character {reader.where()}")


def _element(reader: _Reader, decoder: json.JSONDecoder) -> Any:
    """Decode the element at ``reader.pos``, reading more until it is complete."""
    while True:
        try:
            value, end = decoder.raw_decode(reader.buffer, reader.pos)
        except json.JSONDecodeError as exc:
            if reader.more(len(reader.buffer) - reader.pos):
                continue
            raise JsonStreamError(f"invalid JSON at character {reader.offset + exc.pos}: {exc.msg}") from None
        number = reader.buffer[reader.pos] in _NUMBER_START
        if reader.eof or (end < len(reader.buffer) and (not number or reader.buffer[end] in _AFTER_NUMBER)):
            reader.pos = end
            return value
        reader.more(len(reader.buffer) - reader.pos)  # a number may go on past the buffer ("1." of "1.5")


def _shown(char: str) -> str:
    return repr(char) if char else "the end of the data"


class JsonArrayFile:
    """A JSON array in a binary file (an export snapshot in a temporary file), read either way,
    each time from the start of the file:

    - iterated: each element as ``iter_array`` decodes it; the file is closed at the end;
    - ``texts()``: each element's JSON text (a view of the mapped file, not a copy), for a caller
      that decodes it itself. None when the file cannot be mapped (no file descriptor, empty) or is
      not one array as msgspec reads JSON (RFC 8259: no NaN, no byte-order mark, nothing after the
      array; checked before the first text is given): the caller iterates instead, which reads what
      the standard library reads and names any fault. The texts are not checked for valid JSON
      inside an element, nor for UTF-8: decoding them does that.
    """

    def __init__(self, source: BinaryIO, chunk: int = CHUNK):
        self.source, self.chunk = source, chunk

    def __iter__(self) -> Iterator[Any]:
        self.source.seek(0)
        with self.source:
            yield from iter_array(self.source, self.chunk)

    def texts(self) -> Iterator[memoryview] | None:
        import msgspec  # only an export reads this way; the plan path does not load it

        try:
            self.source.flush()  # what is written but still buffered is mapped too
            mapped = mmap.mmap(self.source.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError, io.UnsupportedOperation):  # no descriptor (an in-memory file); empty
            return None
        try:
            elements = msgspec.json.decode(mapped, type=list[msgspec.Raw])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        return _views(elements)

    def close(self) -> None:
        self.source.close()


def _views(elements: list[Any]) -> Iterator[memoryview]:
    """Each element's text; the list lets go of each one as it is given (the map is released when
    the last view is)."""
    for i in range(len(elements)):
        raw, elements[i] = elements[i], None
        yield memoryview(raw)
