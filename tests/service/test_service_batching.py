"""Group commit and the decision pool: every caller gets its own answer, batches form under load."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from healthwall.errors import InvalidInput
from healthwall.model.decision import Decision
from healthwall.model.request import Request, parse_request
from healthwall.policy import decide
from healthwall.workflows.batching import GroupCommitter, PooledSubmitter


def _request(i: int) -> Request:
    return parse_request(
        {
            "request_id": f"req-{i}",
            "requester": {"id": f"agency-{i % 3}", "name": "Agency", "kind": "law-enforcement"},
            "purpose": "law-enforcement",
            "legal_basis": {"instrument": "judicial-warrant" if i % 2 else "none"},
            "scope": {"kind": "single-patient", "patient": {"mrn": f"M{i}"}},
            "elements": ["name"],
        }
    )


class _Recorder:
    """A real batch decider (policy.decide), remembering the batch sizes it saw."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.sizes: list[int] = []
        self.gate = gate

    def __call__(self, requests: Sequence[Request]) -> list[Decision | Exception]:
        if self.gate is not None:
            self.gate.wait(10)
        self.sizes.append(len(requests))
        out: list[Decision | Exception] = []
        for r in requests:
            if r.request_id == "req-13":
                out.append(InvalidInput("request_id is already in use", field="request_id"))
            else:
                d = decide(r, jurisdiction="US-CA")
                out.append(d.model_copy(update={"request_id": r.request_id}))
        return out


def test_group_commit_batches_and_answers_each_caller() -> None:
    gate = threading.Event()
    recorder = _Recorder(gate)
    committer = GroupCommitter(recorder, max_batch=16, workers=1)
    futures = {i: committer.submit(_request(i)) for i in range(40)}
    gate.set()  # the first batch was held open while the rest queued up
    try:
        for i, future in futures.items():
            if i == 13:
                with pytest.raises(InvalidInput):
                    future.result(timeout=10)
                continue
            decision = future.result(timeout=10)
            assert decision.request_id == f"req-{i}"
            expected = decide(_request(i), jurisdiction="US-CA").decision
            assert decision.decision is expected
    finally:
        committer.close()
    assert sum(recorder.sizes) == 40
    assert max(recorder.sizes) == 16 and len(recorder.sizes) < 40


def test_two_workers_answer_everyone_once() -> None:
    recorder = _Recorder()
    committer = GroupCommitter(recorder, max_batch=8, workers=2)
    try:
        futures = {i: committer.submit(_request(i)) for i in range(100) if i != 13}
        got = {i: f.result(timeout=30).request_id for i, f in futures.items()}
    finally:
        committer.close()
    assert got == {i: f"req-{i}" for i in futures}
    assert sum(recorder.sizes) == 99


def test_a_failed_batch_fails_every_caller_in_it() -> None:
    def broken(requests: Sequence[Request]) -> list[Decision | Exception]:
        raise RuntimeError("database is locked")

    committer = GroupCommitter(broken)
    try:
        future = committer.submit(_request(1))
        with pytest.raises(RuntimeError):
            future.result(timeout=10)
    finally:
        committer.close()


def test_pool_runs_single_decisions() -> None:
    def one(request: Request) -> Decision:
        return decide(request, jurisdiction="US-CA").model_copy(
            update={"request_id": request.request_id}
        )

    pool = PooledSubmitter(one, workers=3)
    try:
        results = [pool.submit(_request(i)).result(timeout=10) for i in range(6)]
    finally:
        pool.close()
    assert [r.request_id for r in results] == [f"req-{i}" for i in range(6)]
