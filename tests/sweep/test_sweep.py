"""`fv sweep`: points from a grid or a list, one-line errors for bad sweep files, and tables
identical, byte for byte, whatever the executor and the number of workers, also when a Dask
worker dies mid-sweep."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import onnx
import pytest
from compiler import models  # tests/compiler, on the path as a package

from fvir.errors import UserError
from fvir.sweep import load_sweep, open_executor, run_sweep, sweep_from_dict
from fvir.sweep.point import flatten
from fvir.tools.fv import main

BASE = """
name = "base"
hw = "tiny"
baseline_hw = "tiny"
duration_s = 0.3
policy = "private"
baselines = ["static", "tdm"]
[[tenants]]
name = "a"
model = "residual.onnx"
arrival = "poisson"
load = [[0.0, 200.0]]
[[tenants]]
name = "b"
model = "mobile.onnx"
arrival = "closed"
"""

SWEEP = """
name = "small"
base = "base.toml"
[grid]
seed = [0, 1]
"tenants.0.load" = [[[0.0, 100.0]], [[0.0, 400.0]]]
"""


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sweep")
    onnx.save(models.residual(), d / "residual.onnx")
    onnx.save(models.mobile(), d / "mobile.onnx")
    (d / "base.toml").write_text(BASE)
    (d / "sweep.toml").write_text(SWEEP)
    return d / "sweep.toml"


@pytest.fixture(scope="module")
def reference_csv(sweep_file) -> str:
    with open_executor("process", 1) as pool:
        return run_sweep(load_sweep(sweep_file), pool).to_csv()


def test_grid_expands_first_key_slowest(sweep_file):
    spec = load_sweep(sweep_file)
    assert spec.axes == ["seed", "tenants.0.load"]
    assert [p.params for p in spec.points] == [
        {"seed": 0, "tenants.0.load": [[0.0, 100.0]]},
        {"seed": 0, "tenants.0.load": [[0.0, 400.0]]},
        {"seed": 1, "tenants.0.load": [[0.0, 100.0]]},
        {"seed": 1, "tenants.0.load": [[0.0, 400.0]]},
    ]
    assert spec.points[3].scenario["tenants"][0]["load"] == [[0.0, 400.0]]
    assert spec.points[3].scenario["tenants"][1] == {"name": "b", "model": "mobile.onnx",
                                                     "arrival": "closed"}


def test_points_list_and_inline_base():
    base = {"duration_s": 1.0, "tenants": [{"name": "a", "model": "m", "share": 1.0}]}
    spec = sweep_from_dict({"base": base, "points": [{"seed": 3}, {"duration_s": 2.0}]})
    assert spec.axes == ["seed", "duration_s"]
    assert [p.scenario.get("seed") for p in spec.points] == [3, None]
    assert [p.scenario["duration_s"] for p in spec.points] == [1.0, 2.0]


@pytest.mark.parametrize(("raw", "message"), [
    ({"base": {}, "grid": {"seed": [0]}, "extra": 1}, "unknown key 'extra'"),
    ({"grid": {"seed": [0]}}, "'base' must be a scenario file or a [base] table"),
    ({"base": {}}, "give either [grid] or [[points]]"),
    ({"base": {}, "grid": {"seed": []}}, "grid 'seed' must be a non-empty list"),
    ({"base": {"tenants": []}, "grid": {"tenants.3.load": [1]}}, "'3' is not an index"),
    ({"base": {"duration_s": 1.0}, "grid": {"policy.x": [1]}}, "the scenario has no 'policy'"),
    ({"base": {"duration_s": 1.0, "tenants": [{"name": "a", "model": "m"}]},
      "grid": {"policy": ["fair"]}}, "point 0: policy must be one of"),
])
def test_bad_sweeps_are_one_line_errors(raw, message):
    with pytest.raises(UserError) as info:
        sweep_from_dict(raw, "s.toml")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_executor_and_missing_file(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.toml")]) == 1
    assert "no such sweep file" in capsys.readouterr().err
    (tmp_path / "s.toml").write_text("x = 1")
    assert main(["sweep", str(tmp_path / "s.toml"), "--executor", "spark"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown executor 'spark'" in err


def test_flatten_keeps_numbers_and_drops_wall_clock():
    summary = {"total_throughput": 5.0, "wall_s": 3.2, "gain": {"tdm": 2.0, "static": None},
               "compile": {"m": {"compile_s": 1.0}}, "policy": "private",
               "tenants": [{"name": "a", "model": "m", "throughput": 1.5, "relink_ms": 0.2,
                            "fault": None}]}
    assert flatten(summary) == {"total_throughput": 5.0, "gain.tdm": 2.0, "gain.static": None,
                                "tenant.a.throughput": 1.5, "tenant.a.fault": None}


def test_process_pool_tables_are_identical(sweep_file, reference_csv):
    with open_executor("process", 2) as pool:
        again = run_sweep(load_sweep(sweep_file), pool).to_csv()
    assert again == reference_csv
    header = reference_csv.splitlines()[0].split(",")
    assert header[:3] == ["point", "seed", "tenants.0.load"]
    assert "total_throughput" in header and "gain.tdm" in header
    assert len(reference_csv.splitlines()) == 5


def test_cli_writes_the_table_and_plots(sweep_file, reference_csv, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(sweep_file), "--workers", "2", "--out", str(out)]) == 0
    assert capsys.readouterr().out == reference_csv
    assert (out / "small.csv").read_text() == reference_csv
    assert (out / "small.json").exists() and list(out.glob("small-*.png"))


def test_dask_table_is_identical(sweep_file, reference_csv):
    pytest.importorskip("distributed")
    with open_executor("dask", 2) as executor:
        assert run_sweep(load_sweep(sweep_file), executor).to_csv() == reference_csv


def test_a_dask_worker_dying_mid_sweep_loses_no_point(sweep_file, reference_csv):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        killed = threading.Event()

        def kill_when_busy() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if any(client.processing().values()):  # a point is running somewhere
                    time.sleep(0.5)
                    os.kill(victim, signal.SIGKILL)
                    killed.set()
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        table = run_sweep(load_sweep(sweep_file), client.get_executor(retries=2, pure=False))
        killer.join()
    assert killed.is_set()
    assert table.to_csv() == reference_csv
