"""CSV import and export: the files admins really have (BOMs, CRLF, bad rows, formulas...)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.store.database import open_database
from subscribers import store_import
from subscribers.csvio import neutralise, parse_csv, unneutralise
from subscribers.importer import import_csv
from subscribers.store import SubscriberStore
from subscribers.suppression import AddressHasher
from tests.conftest import Workspace

NOW = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_bom_crlf_header_aliases_and_extra_columns(workspace: Workspace, tmp_path: Path):
    data = (
        "\ufeffE-mail,Full name,Time zone,Sections,Company\r\n"
        "ada@example.com,Ada Lovelace,Europe/London,tariffs; export-controls,Analytical Engines\r\n"
        "BOB@Example.com,Bob,,,\r\n"
    ).encode()
    path = write(tmp_path, "people.csv", data)
    report = workspace.json("subscribers", "import", str(path), "--consented")
    assert (report["rows"], report["added"], report["rejected"]) == (2, 2, [])
    ada = workspace.json("subscribers", "show", "ada@example.com")
    assert ada["name"] == "Ada Lovelace" and ada["timezone"] == "Europe/London"
    assert ada["sections"] == ["tariffs", "export-controls"]
    assert ada["attributes"] == {"Company": "Analytical Engines"}
    assert ada["status"] == "active" and ada["consent_source"] == "import people.csv"
    assert workspace.json("subscribers", "show", "bob@example.com")["name"] == "Bob"


def test_every_bad_row_is_reported_with_its_line_and_the_good_ones_are_kept(
    workspace: Workspace, tmp_path: Path
):
    data = (
        b"email,name,timezone,status,sections\n"
        b"ada@example.com,Ada,,,\n"
        b"not-an-address,Nobody,,,\n"
        b"bob@example.com,Bob,Mars/Olympus,,\n"
        b"\n"
        b"cy@example.com,Cy,,dormant,\n"
        b"caf\xe9@example.com,Caf\xe9,,,\n"
        b",no address,,,\n"
        b"dee@example.com,Dee,,,gossip\n"
        b"eve@example.com,Eve,,,\n"
    )
    path = write(tmp_path, "mixed.csv", data)
    report = workspace.json("subscribers", "import", str(path))
    lines = {row["line"]: row["reason"] for row in report["rejected"]}
    assert sorted(lines) == [3, 4, 6, 7, 8, 9]
    assert "invalid address" in lines[3]
    assert "unknown time zone 'Mars/Olympus'" in lines[4]
    assert "unknown status 'dormant'" in lines[6]
    assert "not UTF-8" in lines[7]
    assert "no email address" in lines[8]
    assert "unknown section 'gossip'" in lines[9]
    assert report["added"] == 2
    listed = {s["email"]: s["status"] for s in workspace.json("subscribers", "list")}
    # without --consented nobody becomes active
    assert listed == {"ada@example.com": "pending", "eve@example.com": "pending"}
    text = workspace.invoke("subscribers", "import", str(path), "--dry-run").stdout
    assert "line 7: caf\ufffd@example.com:" in text and "dry run: nothing was changed" in text


def test_duplicates_are_merged_later_values_winning(workspace: Workspace, tmp_path: Path):
    data = (
        b"email,name,timezone\n"
        b"ada@example.com,Ada,\n"
        b"bob@example.com,Bob,\n"
        b"ADA@example.com,,Asia/Tokyo\n"
        b"ada@EXAMPLE.COM,Ada L.,\n"
    )
    report = workspace.json(
        "subscribers", "import", str(write(tmp_path, "d.csv", data)), "--consented"
    )
    assert (report["added"], report["duplicates"]) == (2, 2)
    ada = workspace.json("subscribers", "show", "ada@example.com")
    assert (ada["name"], ada["timezone"]) == ("Ada L.", "Asia/Tokyo")


def test_reimport_updates_and_never_resubscribes(workspace: Workspace, tmp_path: Path):
    workspace.invoke("subscribers", "add", "ada@example.com")
    workspace.invoke("subscribers", "add", "bob@example.com")
    from digest.app import make_app
    from digest.config import load_settings

    with make_app(load_settings(workspace.config)) as app:
        bob = app.subscribers.find("bob@example.com")
        app.subscribers.set_status(bob.id, "unsubscribed", now=NOW)
    data = b"email,name,status\nada@example.com,Ada,unsubscribed\nbob@example.com,Bob,active\n"
    report = workspace.json(
        "subscribers", "import", str(write(tmp_path, "r.csv", data)), "--consented"
    )
    assert (report["added"], report["updated"], report["kept_status"]) == (0, 2, 1)
    assert workspace.json("subscribers", "show", "bob@example.com")["status"] == "unsubscribed"
    assert workspace.json("subscribers", "show", "bob@example.com")["name"] == "Bob"
    # a row may always restrict: ada asked elsewhere to leave
    assert workspace.json("subscribers", "show", "ada@example.com")["status"] == "unsubscribed"


def test_dry_run_changes_nothing(workspace: Workspace, tmp_path: Path):
    path = write(tmp_path, "p.csv", b"email\nada@example.com\nbob@example.com\n")
    report = workspace.json("subscribers", "import", str(path), "--dry-run", "--consented")
    assert report["dry_run"] is True and report["added"] == 2
    assert workspace.json("subscribers", "list") == []
    assert workspace.json("lists", "list") == []


def test_import_onto_a_named_list(workspace: Workspace, tmp_path: Path):
    workspace.invoke("lists", "add", "policy")
    path = write(tmp_path, "p.csv", b"email\nada@example.com\n")
    workspace.json("subscribers", "import", str(path), "--list", "policy", "--consented")
    assert workspace.json("subscribers", "show", "ada@example.com")["lists"] == ["policy"]
    result = workspace.invoke("subscribers", "import", str(path), "--list", "nope", code=2)
    assert "no list nope" in result.stderr


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        ("email\nada@example.com\n".encode("utf-16"), "UTF-16"),
        (b"name,city\nAda,London\n", "no 'email' column"),
        (b"em\xe9il,name\nada@example.com,Ada\n", "no 'email' column"),
    ],
)
def test_whole_file_problems_are_one_line_errors(workspace, tmp_path, data, message):
    result = workspace.invoke("subscribers", "import", str(write(tmp_path, "x.csv", data)), code=2)
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert workspace.json("subscribers", "list") == []


def test_a_file_without_a_header_is_email_then_name(workspace, tmp_path):
    path = write(tmp_path, "plain.csv", b"ada@example.com,Ada\r\nbob@example.com,Bob\r\n")
    assert workspace.json("subscribers", "import", str(path), "--consented")["added"] == 2
    assert workspace.json("subscribers", "show", "bob@example.com")["name"] == "Bob"


def test_semicolon_separated_files_from_european_spreadsheets(workspace, tmp_path):
    path = write(tmp_path, "semi.csv", "email;name\nzoe@example.com;Zoé Ünal\n".encode())
    assert workspace.json("subscribers", "import", str(path), "--consented")["added"] == 1
    assert workspace.json("subscribers", "show", "zoe@example.com")["name"] == "Zoé Ünal"


def test_export_neutralises_formulas_and_round_trips(workspace: Workspace, tmp_path: Path):
    data = (
        b"email,name,timezone,sections,Company,Note\n"
        b'ada@example.com,"=HYPERLINK(""http://evil.example"",""click"")",Europe/Paris,'
        b"tariffs,+1 555,@SUM(A1)\n"
        b"bob@example.com,-Bob,,,\tTabbed,plain\n"
    )
    workspace.invoke("lists", "add", "policy")
    workspace.json(
        "subscribers", "import", str(write(tmp_path, "in.csv", data)), "--consented",
        "--list", "policy",
    )  # fmt: skip
    workspace.invoke("subscribers", "add", "cy@example.com")
    exported = workspace.invoke("subscribers", "export").stdout
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][:9] == [
        "email", "name", "status", "timezone", "sections", "format", "lists",
        "consent_at", "consent_source",
    ]  # fmt: skip
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t")), cell
    assert rows[1][1].startswith("'=HYPERLINK")
    before = workspace.json("subscribers", "list")

    # into a fresh database, through import
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    copy = Workspace(fresh, workspace.smtp_port)
    copy.invoke("lists", "add", "policy")
    path = write(tmp_path, "out.csv", exported.encode())
    report = copy.json("subscribers", "import", str(path), "--consented")
    assert report["rejected"] == [] and report["added"] == 3
    after = copy.json("subscribers", "list")
    keys = ("email", "name", "status", "timezone", "sections", "format", "lists", "attributes",
            "consent_at", "consent_source")  # fmt: skip
    assert [{k: s[k] for k in keys} for s in after] == [{k: s[k] for k in keys} for s in before]
    assert after[0]["name"] == '=HYPERLINK("http://evil.example","click")'


def test_neutralise_and_back():
    for value in ["=1+1", "+44 20", "-x", "@cmd", "\tx", "plain", "'quoted", ""]:
        assert unneutralise(neutralise(value)) == value
    assert neutralise("=1") == "'=1"


def test_a_crash_midway_leaves_the_list_as_it_was(tmp_path: Path, monkeypatch):
    database = open_database(f"sqlite:///{tmp_path / 'crash.db'}")
    store = SubscriberStore(database, hasher=AddressHasher("k"), topic_key=lambda: "t")
    store.add("old@example.com", now=NOW)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_import, "_add_memberships", boom)  # after the rows are inserted
    data = b"email\nnew1@example.com\nnew2@example.com\nold@example.com\n"
    with pytest.raises(RuntimeError):
        import_csv(store, data, now=NOW, source="t", consented=True)
    assert [s.email for s in store.list()] == ["old@example.com"]
    database.close()


def test_parse_reports_multiline_records_by_their_first_line():
    data = b'email,name\n"ada@example.com","Ada\nLovelace"\nbad,x\n'
    parsed = parse_csv(data)
    assert parsed.records[0].name == "Ada Lovelace"
    assert [(row.line, row.email) for row in parsed.rejected] == [(4, "bad")]


def test_export_neutralises_formula_looking_header_cells_and_reads_them_back(
    workspace: Workspace, tmp_path: Path
):
    hostile = ['=HYPERLINK("http://evil.example","x")', "+cmd", "-", "@SUM(A1)"]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["email", *hostile], ["ada@example.com", "1", "2", "3", "4"]])
    data = buffer.getvalue().encode()
    workspace.json("subscribers", "import", str(write(tmp_path, "in.csv", data)), "--consented")
    assert set(workspace.json("subscribers", "show", "ada@example.com")["attributes"]) == set(
        hostile
    )
    exported = workspace.invoke("subscribers", "export").stdout
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][9:] == ["'" + h for h in hostile]
    for cell in rows[0]:
        assert not cell.startswith(("=", "+", "-", "@", "\t")), cell
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    copy = Workspace(fresh, workspace.smtp_port)
    path = write(tmp_path, "out.csv", exported.encode())
    assert copy.json("subscribers", "import", str(path), "--consented")["rejected"] == []
    assert copy.json("subscribers", "show", "ada@example.com")["attributes"] == dict(
        zip(hostile, ["1", "2", "3", "4"], strict=True)
    )
