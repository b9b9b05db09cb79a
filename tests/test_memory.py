"""own_array: large working arrays in private mappings of their own."""

from __future__ import annotations

import mmap
import os

import numpy as np
import pytest

from vecload._memory import OWN_FROM, own_array


@pytest.mark.parametrize("count", [0, 5, OWN_FROM // 8 - 1, OWN_FROM // 8, 3 * OWN_FROM // 8 + 7])
def test_arrays_are_zeroed_and_writable(count: int) -> None:
    array = own_array(count, np.int64)
    assert array.shape == (count,) and array.dtype == np.int64 and not array.any()
    array[:] = np.arange(count)
    assert array.sum() == count * (count - 1) // 2


def _memory(array: np.ndarray) -> object:
    base = array.base
    return getattr(base, "obj", base)  # np.frombuffer keeps a memoryview of the buffer


def test_large_arrays_live_in_a_mapping_of_their_own() -> None:
    """From OWN_FROM bytes the array's memory is an mmap; below, an ordinary array."""
    assert isinstance(_memory(own_array(OWN_FROM // 8, np.int64)), mmap.mmap)
    assert own_array(OWN_FROM // 8 - 1, np.int64).base is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_its_own_copy() -> None:
    """The mapping is private: a child's writes after a fork never reach the parent's array."""
    array = own_array(OWN_FROM, np.uint8)
    pid = os.fork()
    if pid == 0:  # the child
        array[:] = 7
        os._exit(0 if array[0] == 7 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not array.any()
