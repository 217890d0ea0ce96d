"""Generated request ids: 32 hex digits, never repeated, in this process or a forked one."""

from __future__ import annotations

import os

from recsys_service.request_id import new_request_id


def test_generated_ids_are_32_hex_digits_and_never_repeat() -> None:
    ids = [new_request_id() for _ in range(5000)]  # many pool refills
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_forked_child_does_not_reuse_the_parents_pooled_ids() -> None:
    new_request_id()  # the pool now holds ids the parent will hand out next
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next few ids and leave at once
        os.write(write, "".join(new_request_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 320).decode()
    os.waitpid(pid, 0)
    child_ids = {child[i : i + 32] for i in range(0, 320, 32)}
    parent_ids = {new_request_id() for _ in range(300)}
    assert len(child_ids) == 10
    assert not child_ids & parent_ids
