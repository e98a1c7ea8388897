"""The ledger CLI end to end, in-process: keygen, checkpoint, verify, proof + the standalone
verifier, export (validated as FHIR R4 AuditEvent), accounting and transparency."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from ledger_helpers import decision, release

from healthwall.cli.main import main
from healthwall.ledger import Ledger, verifier

PATIENT = "patient-cli-1"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().out


@pytest.fixture()
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    key = tmp_path / "keys" / "signing.key"
    assert run(["ledger", "keygen", "--out", str(key), "--name", "cli.test/log"], capsys)[0] == 0
    (tmp_path / "pseudonym.key").write_text("cli-test-pseudonym-key-0123456789")
    monkeypatch.setenv("HEALTHWALL_DB", f"sqlite:///{tmp_path / 'ledger.db'}")
    monkeypatch.setenv("HEALTHWALL_SIGNING_KEY", f"file:{key}")
    monkeypatch.setenv("HEALTHWALL_PSEUDONYM_KEY", f"file:{tmp_path / 'pseudonym.key'}")
    ledger = Ledger.open(
        f"sqlite:///{tmp_path / 'ledger.db'}",
        pseudonym_key=(tmp_path / "pseudonym.key").read_bytes(),
    )
    p = ledger.patient_pseudonym(PATIENT)
    with ledger.writer() as tx:
        tx.append_many([x for i in range(6) for x in (decision(i), release(p, i))])
    ledger.close()
    return tmp_path


def test_keygen_writes_a_private_key_with_mode_0600(env: Path) -> None:
    key = env / "keys" / "signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("PRIVATE+KEY+cli.test/log+")
    assert (env / "keys" / "signing.key.pub").read_text().startswith("cli.test/log+")


def test_checkpoint_verify_proof_and_standalone_verifier(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, note = run(["ledger", "checkpoint"], capsys)
    assert code == 0 and note.split("\n")[:2] == ["cli.test/log", "13"]  # + KeyRotated
    code, out = run(["ledger", "verify"], capsys)
    assert code == 0 and json.loads(out)["ok"] is True
    code, _ = run(["ledger", "proof", "--index", "5", "--out", str(env / "proof")], capsys)
    assert code == 0
    files = [
        "--checkpoint", str(env / "proof" / "checkpoint.txt"),
        "--proof", str(env / "proof" / "proof.json"),
        "--entry", str(env / "proof" / "entry.json"),
        "--public-key", str(env / "keys" / "signing.key.pub"),
    ]  # fmt: skip
    assert verifier.main(files) == 0
    entry = (env / "proof" / "entry.json").read_bytes()
    (env / "proof" / "entry.json").write_bytes(entry.replace(b"County", b"Countx"))
    assert verifier.main(files) == 1
    assert "FAIL" in capsys.readouterr().out


def test_verifier_checks_consistency_between_checkpoints(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = run(["ledger", "checkpoint"], capsys)[1]
    ledger = Ledger.open(f"sqlite:///{env / 'ledger.db'}", pseudonym_key=b"x" * 32)
    ledger.append(decision(99))
    ledger.close()
    new = run(["ledger", "checkpoint"], capsys)[1]
    code, out = run(["ledger", "consistency", "--old", "13"], capsys)
    assert code == 0
    (env / "old.txt").write_text(old)
    (env / "new.txt").write_text(new)
    (env / "cons.json").write_text(out)
    args = [
        "--checkpoint", str(env / "new.txt"), "--old-checkpoint", str(env / "old.txt"),
        "--consistency", str(env / "cons.json"),
        "--public-key", str(env / "keys" / "signing.key.pub"),
    ]  # fmt: skip
    assert verifier.main(args) == 0
    (env / "old.txt").write_text(new)
    assert verifier.main(args) == 1


def test_verify_exits_7_on_tampering(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    with sqlite3.connect(env / "ledger.db") as conn:
        conn.execute("DROP TRIGGER hw_ledger_entries_no_update")
        conn.execute("UPDATE hw_ledger_entries SET body = body || ' ' WHERE seq = 7")
    code, out = run(["ledger", "verify"], capsys)
    assert code == 7 and json.loads(out)["first_bad_index"] == 7


def test_export_is_valid_fhir_r4_audit_events(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = env / "audit.ndjson"
    code, _ = run(["ledger", "export", "--out", str(out)], capsys)
    assert code == 0
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(events) == 12
    for event in events:
        AuditEvent.model_validate(event)
    disclosures = [e for e in events if e["type"]["code"] == "110106"]
    decisions = [e for e in events if e["type"]["code"] == "110113"]
    assert len(disclosures) == len(decisions) == 6
    d = disclosures[0]
    assert d["subtype"][0]["code"] == "disclose"
    roles = [a["type"]["coding"][0]["code"] for a in d["agent"]]
    assert roles == ["110153", "110152"]
    assert d["entity"][0]["role"]["code"] == "1"  # patient, by pseudonym only
    assert PATIENT not in out.read_text()


def test_accounting_cli(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["accounting", "--patient", PATIENT, "--record-request"], capsys)
    assert code == 0 and json.loads(out)["kind"] == "accounting-requested"
    assert len(json.loads(run(["accounting", "--open"], capsys)[1])) == 1
    html = env / "acc.html"
    code, out = run(["accounting", "--patient", PATIENT, "--html", str(html), "--deliver"], capsys)
    assert code == 0 and json.loads(out)["disclosures"] == 6
    assert "County Sheriff" in html.read_text()
    assert json.loads(run(["accounting", "--open"], capsys)[1]) == []
    code, _ = run(["accounting", "--patient", PATIENT, "--from", "not-a-date"], capsys)
    assert code == 2


def test_transparency_cli(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = env / "report"
    code, _ = run(
        ["transparency", "--from", "2000-01-01", "--to", "2100-01-01", "--out", str(out),
         "--no-charts"],
        capsys,
    )  # fmt: skip
    assert code == 0
    data = json.loads((out / "transparency.json").read_text())
    assert data["tables"]["requests_by_decision"]["rows"] == [{"key": "permit", "count": "<11"}]
    assert (out / "transparency.html").exists()
