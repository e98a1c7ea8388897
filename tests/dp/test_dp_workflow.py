"""The aggregate workflow end to end: real policy (Cedar), real ledger, real DuckDB store."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest

from healthwall.cli.main import main
from healthwall.dp.budget import BudgetPolicy
from healthwall.errors import InvalidInput, Refused, TooLarge, UnknownCode
from healthwall.ledger import Ledger
from healthwall.model.aggregate import BudgetMeasure
from healthwall.model.entries import AggregateAnswered, DecisionMade
from healthwall.workflows import aggregates
from healthwall.workflows.aggregates import AggregateSettings

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HW_DP_TEST_KEY", KEY)


def _settings(store: Path, url: str, total: float = 1.0) -> AggregateSettings:
    return AggregateSettings(
        store=store,
        ledger_url=url,
        pseudonym_key="env:HW_DP_TEST_KEY",
        budget=BudgetPolicy(measure=BudgetMeasure.EPSILON, total=total, delta_total=1e-5),
        jurisdiction="US",
    )


def _body(
    kind: str = "public-health", by: tuple[str, ...] = ("state", "quarter"), **q: Any
) -> dict[str, Any]:
    query: dict[str, Any] = {
        "template": "patients",
        "by": list(by),
        "date_from": "2025-01-01",
        "date_to": "2025-12-31",
        "epsilon": 0.25,
    }
    query.update(q)
    return {"requester": {"id": f"{kind}-1", "name": "Agency", "kind": kind}, "query": query}


def _entries(url: str) -> list[Any]:
    with Ledger.open(url, pseudonym_key=KEY.encode()) as ledger:
        return [entry for _, entry in ledger.entries()]


def test_public_health_answer_is_recorded_with_its_digest(
    small_store: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    result = aggregates.answer(_body(), _settings(small_store, url))
    info = result.mechanism
    assert (info.mechanism.value, info.key_set, info.contribution_bound) == ("laplace", "public", 4)
    assert info.epsilon == pytest.approx(0.25) and info.delta == 0.0
    assert info.sensitivity_l1 == 4 and info.sensitivity_l2 == pytest.approx(2.0)
    assert info.scale == pytest.approx(16.0)
    assert len(result.cells) == 56 * 4  # every state x quarter, zeros filled before noise
    released = [c for c in result.cells if not c.suppressed]
    assert released and all(c.count is not None and c.count >= 11 for c in released)
    assert all(c.ci_low is not None and c.ci_high is not None for c in released)
    assert all(c.ci_low <= c.count <= c.ci_high for c in released)  # type: ignore[operator]
    assert result.budget.spent == pytest.approx(0.25)
    (entry,) = _entries(url)
    assert isinstance(entry, AggregateAnswered)
    assert entry.budget_spent.epsilon == pytest.approx(0.25)
    assert entry.budget_remaining.epsilon == pytest.approx(0.75)
    assert entry.cells_released == len(released)
    csv_bytes = aggregates.to_csv(result).encode()
    assert entry.output_digest == hashlib.sha256(csv_bytes).hexdigest()
    assert result.ledger_index == 0


def test_exhausted_budget_is_a_recorded_denial_that_spends_nothing(
    small_store: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = _settings(small_store, url, total=0.6)
    aggregates.answer(_body(), settings)
    aggregates.answer(_body(), settings)
    with pytest.raises(Refused, match="budget exhausted") as err:
        aggregates.answer(_body(), settings)
    assert err.value.field == "budget"
    (state,) = aggregates.budgets(settings, "public-health-1")
    assert state.spent == pytest.approx(0.5) and state.remaining == pytest.approx(0.1)
    kinds = [type(e).__name__ for e in _entries(url)]
    assert kinds == ["AggregateAnswered", "AggregateAnswered", "DecisionMade"]
    denial = _entries(url)[-1]
    assert isinstance(denial, DecisionMade) and denial.decision == "deny"
    assert denial.reasons[0].policy == "dp-budget"
    assert denial.request_id.startswith("aggregate-")


@pytest.mark.parametrize("geo", ["zip3", "county"])
@pytest.mark.parametrize("kind", ["law-enforcement", "immigration-enforcement"])
def test_enforcement_small_area_counts_are_denied(
    small_store: Path, tmp_path: Path, kind: str, geo: str
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = _settings(small_store, url)
    with pytest.raises(Refused, match="denied by policy") as err:
        aggregates.answer(_body(kind, by=(geo, "month")), settings)
    assert "small area" in err.value.message
    assert aggregates.budgets(settings) == []  # nothing spent, no budget even opened
    (entry,) = _entries(url)
    assert isinstance(entry, DecisionMade) and entry.decision == "deny"
    assert "firewall-enforcement-no-small-area" in {r.policy for r in entry.reasons}


def test_private_key_set_uses_threshold_selection(small_store: Path, tmp_path: Path) -> None:
    settings = _settings(small_store, f"sqlite:///{tmp_path / 'ledger.db'}", total=5.0)
    result = aggregates.answer(_body(by=("county", "year"), epsilon=1.0), settings)
    info = result.mechanism
    assert info.key_set == "selected" and info.selection_threshold is not None
    assert 0 < info.delta <= 1e-7
    assert all(c.count is not None and c.count >= info.selection_threshold for c in result.cells)
    assert result.budget.delta_spent == pytest.approx(info.delta)


def test_gaussian_against_a_rho_budget(small_store: Path, tmp_path: Path) -> None:
    settings = AggregateSettings(
        store=small_store,
        ledger_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        pseudonym_key="env:HW_DP_TEST_KEY",
        budget=BudgetPolicy(measure=BudgetMeasure.RHO, total=0.5, delta_total=0.0),
    )
    body = _body(by=("state", "month", "sex"), epsilon=None, rho=0.125, max_contributions=9)
    result = aggregates.answer(body, settings)
    info = result.mechanism
    assert (info.mechanism.value, info.measure.value) == ("gaussian", "rho")
    assert info.rho == pytest.approx(0.125) and info.sensitivity_l2 == pytest.approx(3.0)
    assert info.scale == pytest.approx(3.0 / (2 * 0.125) ** 0.5)
    assert result.budget.spent == pytest.approx(0.125)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"template": "free-form"}, "template"),
        ({"by": ["zip3", "week"]}, "by"),
        ({"sql": "SELECT 1"}, "sql"),
        ({"epsilon": -1}, "epsilon"),
        ({"rho": 0.1}, "query"),
        ({"max_contributions": 0}, "max_contributions"),
        ({"alpha": 0.9}, "alpha"),
    ],
)
def test_bad_parameters_are_rejected_naming_the_field(
    small_store: Path, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    body = _body()
    body["query"].update(change)
    with pytest.raises(InvalidInput) as err:
        aggregates.answer(body, _settings(small_store, f"sqlite:///{tmp_path / 'l.db'}"))
    assert field in err.value.message
    assert not (tmp_path / "l.db").exists()  # rejected before the ledger is even opened


def test_too_many_cells_is_refused_before_any_work(small_store: Path, tmp_path: Path) -> None:
    body = _body(by=("zip3", "month", "dx_block"))
    with pytest.raises(TooLarge, match="cells"):
        aggregates.answer(body, _settings(small_store, f"sqlite:///{tmp_path / 'l.db'}"))
    assert not (tmp_path / "l.db").exists()


def test_unknown_requester_kind_is_an_unknown_code(small_store: Path, tmp_path: Path) -> None:
    with pytest.raises(UnknownCode):
        aggregates.answer(_body("alien"), _settings(small_store, f"sqlite:///{tmp_path / 'l.db'}"))


def _answer_in_thread(store: Path, url: str, out: list[str]) -> None:
    try:
        aggregates.answer(_body(), _settings(store, url))
        out.append("ok")
    except Refused:
        out.append("refused")


def _answer_in_process(args: tuple[Path, str]) -> str:
    out: list[str] = []
    _answer_in_thread(args[0], args[1], out)
    return out[0]


def _open_first(store: Path, url: str) -> None:
    """The ledger exists before concurrent requests arrive (as in a deployment)."""
    assert aggregates.budgets(_settings(store, url)) == []


def _check_four_answers(url: str, outcomes: list[str]) -> None:
    assert outcomes.count("ok") == 4  # 1.0 / 0.25
    entries = _entries(url)
    assert sum(isinstance(e, AggregateAnswered) for e in entries) == 4
    assert sum(isinstance(e, DecisionMade) for e in entries) == outcomes.count("refused")


def test_concurrent_answers_threads_sqlite(small_store: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _open_first(small_store, url)
    outcomes: list[str] = []
    workers = [
        threading.Thread(target=_answer_in_thread, args=(small_store, url, outcomes))
        for _ in range(7)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    _check_four_answers(url, outcomes)


def test_concurrent_answers_processes_sqlite(small_store: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    _open_first(small_store, url)
    with multiprocessing.get_context("fork").Pool(4) as pool:
        outcomes = pool.map(_answer_in_process, [(small_store, url)] * 7)
    _check_four_answers(url, outcomes)


@pytest.mark.postgres
def test_concurrent_answers_postgres(small_store: Path, pg_url: str) -> None:
    _open_first(small_store, pg_url)
    with multiprocessing.get_context("fork").Pool(4) as pool:
        outcomes = pool.map(_answer_in_process, [(small_store, pg_url)] * 6)
    _check_four_answers(pg_url, outcomes)


def test_cli_aggregate_csv_and_budget(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    out = tmp_path / "out" / "counts.csv"
    args = ["aggregate", "patients", "--by", "state,year", "--from", "2025-01-01"]
    args += ["--to", "2025-12-31", "--requester", "cdph", "--epsilon", "0.5"]
    args += ["--store", str(small_store), "--db", url, "--format", "csv", "--out", str(out)]
    args += ["--pseudonym-key", "env:HW_DP_TEST_KEY"]
    main(args)
    lines = out.read_text().splitlines()
    assert lines[0] == "state,year,count,suppressed,ci_low,ci_high" and len(lines) == 57
    assert list(out.parent.iterdir()) == [out]  # no temp file left behind
    main(["budget", "--db", url, "--requester", "cdph", "--pseudonym-key", "env:HW_DP_TEST_KEY"])
    (row,) = json.loads(capsys.readouterr().out)
    assert row["spent"] == pytest.approx(0.5) and row["requester_id"] == "cdph"
    with pytest.raises(SystemExit) as done:
        main(["aggregate", "patients", "--by", "zip3", *args[4:]])
    assert done.value.code == 2  # InvalidInput: by needs a period
    assert "by" in capsys.readouterr().err
