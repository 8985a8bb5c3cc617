"""A refresh leaves the older objects out of its garbage collections and gives them back."""

from __future__ import annotations

import gc
import weakref

from feeds.heap import older_objects_left_alone


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_older_objects_are_left_alone_during_the_block_and_collected_after_it() -> None:
    node = _Node()
    freed: list[bool] = []
    weakref.finalize(node, freed.append, True)
    del node  # garbage now, but only a collection finds it
    with older_objects_left_alone():
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert not freed  # made before the block: not walked
        young = _Node()
        weakref.finalize(young, freed.append, True)
        del young
        gc.collect()
        assert freed == [True]  # made during the block: collected as usual
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert freed == [True, True]  # given back: the older cycle is collected too


def test_the_objects_are_given_back_when_the_block_fails() -> None:
    try:
        with older_objects_left_alone():
            raise RuntimeError("a failed refresh")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0
