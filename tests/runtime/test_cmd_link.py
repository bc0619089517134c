"""`fv link`: the report, --json, --core-ids, and one-line errors."""

import json

import pytest

from fvir.hw import PAPER_U200
from fvir.ifp import fileformat
from fvir.runtime import link, make_allocation
from fvir.tools.fv import COMMANDS, main

from .helpers import TINY_HASH, random_package
from .test_residency import lstm_package


@pytest.fixture
def package():
    return random_package(11, layers=6, host_every=3)


@pytest.fixture
def fake_reader(monkeypatch, package):
    """`read_package` returning the synthetic package, whatever the file."""
    calls = []

    def read(path, *, core=None):
        calls.append((str(path), core))
        return package

    monkeypatch.setattr(fileformat, "read_package", read)
    return calls


def test_registered():
    assert "link" in COMMANDS


def test_text_report(fake_reader, package, capsys):
    assert main(["link", "m.ifp", "--cores", "3", "--repeat", "3"]) == 0
    assert fake_reader == [("m.ifp", PAPER_U200.core)]  # checked against the pool's core
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("synthetic: linked to 3 cores (0,1,2) of paper-u200 in ")
    assert "(median of 3, p99 " in out[0]
    nf = len(package.frames)
    assert out[1].startswith(f"  {nf} frames, 6 layers (2 host), ")
    exe = link(package, make_allocation(package, [0, 1, 2], PAPER_U200), PAPER_U200)
    assert f"linker's prediction {exe.predicted_cycles} cycles = " in out[2]
    assert out[3] == (f"  weights kept in the cores' buffers: {exe.elided_bytes / 1e6:.2f} MB "
                      "of weight loads skipped per inference")
    rows = [line.split() for line in out[5:8]]
    assert [int(r[0]) for r in rows] == [0, 1, 2]
    assert [int(r[1]) for r in rows] == exe.frames_per_core.tolist()
    assert [float(r[3]) for r in rows] == (exe.resident_bytes / 1024).round(1).tolist()
    assert out[8].split() == ["segment", "kind", "bytes", "bank", "region"]
    assert [line.split()[0] for line in out[9:]] == ["weights", "input", "output",
                                                      "activations"]


def test_json_report(fake_reader, package, capsys):
    argv = ["link", "m.ifp", "--core-ids", "4,9", "--json", "--repeat", "2", "--balance", "lpt",
            "--phases", "merged"]
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["cores"] == [4, 9] and r["balance"] == "lpt" and r["phases"] == "merged"
    assert sum(r["frames_per_core"]) == r["frames"] == len(package.frames)
    assert r["link_time"]["repeat"] == 2
    assert set(r["link_time"]) == {"median_us", "p99_us", "min_us", "repeat"}
    assert r["latency_ms"] == pytest.approx(r["predicted_cycles"] / 300e3)
    assert max(r["busy_cycles_per_core"]) / (sum(r["busy_cycles_per_core"]) / 2) == \
        pytest.approx(r["load_balance"])
    assert [s["bank"] for s in r["segments"]] == [1, 1, 1, 1]  # core 4's bank comes first


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cores", "0"], "--cores must be at least 1, got 0"),
        (["--cores", "17"], "--cores 17: pool 'paper-u200' has 16 cores"),
        ([], "say how many cores: --cores N (or --core-ids)"),
        (["--core-ids", "0,x"],
         "bad --core-ids '0,x': expected comma-separated core numbers, e.g. 0,1,4,5"),
        (["--core-ids", "0,1", "--cores", "3"], "--cores 3 but --core-ids names 2 cores"),
        (["--core-ids", "2,2"], "core 2 appears twice in the allocation of tenant 0"),
        (["--core-ids", "3,16"], "unknown core 16: pool 'paper-u200' has cores 0..15"),
        (["--cores", "2", "--repeat", "0"], "--repeat must be at least 1, got 0"),
        (["--cores", "2", "--hw", "nope"],
         "unknown hardware 'nope': not a preset (paper-u200, big-core, tiny) nor a .toml file"),
    ],
)
def test_errors_are_one_line(fake_reader, capsys, argv, message):
    assert main(["link", "m.ifp", *argv]) == 1
    assert capsys.readouterr().err == f"fv link: error: {message}\n"


def test_real_file_round_trip(tmp_path, package, capsys):
    path = tmp_path / "m.ifp"
    fileformat.write_package(package, path)
    assert main(["link", str(path), "--cores", "2", "--json", "--repeat", "2"]) == 0
    r = json.loads(capsys.readouterr().out)
    exe = link(package, make_allocation(package, [0, 1], PAPER_U200), PAPER_U200)
    assert r["predicted_cycles"] == exe.predicted_cycles
    assert r["frames_per_core"] == exe.frames_per_core.tolist()


def test_stream_weights(tmp_path, capsys):
    """A package whose frames reuse weights: linked resident by default, streamed on request."""
    hw, package, _, _ = lstm_package()
    path = tmp_path / "lstm.ifp"
    fileformat.write_package(package, path)
    reports = {}
    for flags in ([], ["--stream-weights"]):
        assert main(["link", str(path), "--cores", "2", "--json", "--repeat", "2", *flags]) == 0
        reports[bool(flags)] = json.loads(capsys.readouterr().out)
    resident, streamed = reports[False], reports[True]
    exe = link(package, make_allocation(package, [0, 1], hw), hw)
    assert resident["elided_weight_bytes"] == exe.elided_bytes > 0
    assert resident["resident_weight_bytes_per_core"] == exe.resident_bytes.tolist()
    assert streamed["elided_weight_bytes"] == 0
    assert streamed["resident_weight_bytes_per_core"] == [0, 0]
    assert resident["predicted_cycles"] < streamed["predicted_cycles"]
    assert resident["first_link_us"] > 0


def test_real_file_errors(tmp_path, capsys):
    assert main(["link", str(tmp_path / "missing.ifp"), "--cores", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fv link: error: cannot read ") and err.count("\n") == 1
    path = tmp_path / "tiny.ifp"
    fileformat.write_package(random_package(1, layers=2, core_hash=TINY_HASH), path)
    assert main(["link", str(path), "--cores", "1"]) == 1
    err = capsys.readouterr().err
    assert "was compiled for core" in err and err.count("\n") == 1
    assert main(["link", str(path), "--cores", "4", "--hw", "tiny", "--repeat", "1"]) == 0
