"""The shared fakes stay faithful to the Protocols the code depends on: same methods, same signatures."""

from __future__ import annotations

import inspect

import pytest

from lsts_sync.labels.exports import AnnotationSource, ObjectStore
from lsts_sync.resources.protocols import LabelStudioOps, S3Ops

from .fakes import FakeLabelStudio, FakeS3


def operations(protocol: type) -> list[str]:
    return sorted(n for n, v in vars(protocol).items() if inspect.isfunction(v) and not n.startswith("_"))


def parameters(fn) -> list[tuple[str, object, object]]:
    """Names, kinds and defaults (annotations are strings here, so compared by name only)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("fake, protocol", [(FakeLabelStudio, LabelStudioOps), (FakeLabelStudio, AnnotationSource),
                                            (FakeS3, S3Ops), (FakeS3, ObjectStore)],
                         ids=["ls-ops", "ls-annotations", "s3-ops", "s3-store"])
def test_a_fake_has_every_operation_of_its_protocol_with_the_same_parameters(fake: type, protocol: type) -> None:
    names = operations(protocol)
    assert names  # the protocol declares operations
    for name in names:
        assert parameters(getattr(fake, name)) == parameters(getattr(protocol, name)), name
