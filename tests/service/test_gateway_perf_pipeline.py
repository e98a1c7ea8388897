"""The pipelined group commit (gateway-perf): each caller gets its own answer, errors stay in
place, a failing stage fails only its own requests, and commits gather what waits."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from healthwall.errors import InvalidInput
from healthwall.model.decision import Decision
from healthwall.model.request import Request, parse_request
from healthwall.policy import decide
from healthwall.workflows.batching import PipelinedCommitter


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


def _prepare(requests: Sequence[Request]) -> list[Decision | Exception]:
    out: list[Decision | Exception] = []
    for r in requests:
        if r.request_id == "req-13":
            out.append(InvalidInput("request_id is already in use", field="request_id"))
        else:
            d = decide(r, jurisdiction="US-CA")
            out.append(d.model_copy(update={"request_id": r.request_id}))
    return out


class _Record:
    """Records (here: passes through) and remembers each commit's size; can be held shut."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.gate = threading.Event()

    def __call__(self, prepared: Sequence[Decision | Exception]) -> list[Decision | Exception]:
        self.gate.wait(10)
        self.sizes.append(len(prepared))
        return list(prepared)


def test_every_caller_gets_its_own_answer_and_commits_gather() -> None:
    record = _Record()
    pipe: PipelinedCommitter[Decision, Decision] = PipelinedCommitter(_prepare, record)
    try:
        futures = [pipe.submit(_request(i)) for i in range(40)]
        record.gate.set()
        answers = {}
        for i, future in enumerate(futures):
            if i == 13:
                assert isinstance(future.exception(timeout=10), InvalidInput)
            else:
                answers[i] = future.result(timeout=10)
    finally:
        pipe.close()
    assert all(answers[i].request_id == f"req-{i}" for i in answers)
    expected = {i: decide(_request(i), jurisdiction="US-CA").decision for i in answers}
    assert {i: a.decision for i, a in answers.items()} == expected
    assert sum(record.sizes) == 40
    assert len(record.sizes) < 40  # the held commit let batches gather


def test_a_failing_record_fails_only_its_batch() -> None:
    calls = {"n": 0}

    def record(prepared: Sequence[Decision | Exception]) -> list[Decision | Exception]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise InvalidInput("disk full", field="ledger")
        return list(prepared)

    pipe: PipelinedCommitter[Decision, Decision] = PipelinedCommitter(_prepare, record)
    try:
        first = pipe.submit(_request(1))
        assert isinstance(first.exception(timeout=10), InvalidInput)
        second = pipe.submit(_request(2))
        assert second.result(timeout=10).request_id == "req-2"
    finally:
        pipe.close()


def test_answers_on_the_event_loop() -> None:
    import asyncio

    record = _Record()
    record.gate.set()
    pipe: PipelinedCommitter[Decision, Decision] = PipelinedCommitter(_prepare, record)

    async def ask() -> list[Decision | BaseException]:
        futures = [pipe.submit_async(_request(i)) for i in range(12, 20)]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    try:
        answers = asyncio.run(ask())
    finally:
        pipe.close()
    assert isinstance(answers[1], InvalidInput)  # req-13: its own error, in place
    assert [a.request_id for a in answers if isinstance(a, Decision)] == [
        f"req-{i}" for i in range(12, 20) if i != 13
    ]
