"""The zoo CNNs, compiled for paper-u200 and simulated: int8 outputs bit-exact with the int8
reference executor (the quantized module) on 1, 2, 3, 5 and 16 cores, hence identical to each
other; fp32 mode within 1e-4 (max |error| / max |onnxruntime|) of onnxruntime on the float
model; more cores, fewer cycles; and, on one core given the DDR share the compiler assumes
(a quarter of a bank), the event-driven schedule within 2% of the compiler's closed-form frame
costs (two independent derivations of the same cycle model).

ResNet-18, MobileNetV2, MobileNetV3-Small, EfficientNet-B0 and RegNetY-400MF run by default;
every zoo CNN runs under the `slow` marker (`pytest -m slow`).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from fvir import zoo
from fvir.backend.machine import simulate_package
from fvir.compiler import package_model, quantize_model
from fvir.hw import PAPER_U200
from fvir.hw.cost import core_bytes_per_cycle
from fvir.reference.int8 import run as run_reference
from fvir.reference.int8 import run_host

CORES = (1, 2, 3, 5, 16)
DEFAULT = ("resnet18", "mobilenetv2", "mobilenetv3", "efficientnet_b0", "regnety_400mf")
CNNS = sorted(name for name, entry in zoo.MODELS.items() if entry.kind == "cnn")
MODELS = [pytest.param(n, marks=() if n in DEFAULT else pytest.mark.slow) for n in CNNS]
# Where the two derivations of the cycle model are known to differ by more than 2%: measured,
# with what differs. The bit-exact and fp32 checks still run (and must pass) first.
COST_GAPS = {
    "mobilenetv3": "the schedule is 4.0% faster than the closed-form frame costs (1,653,871 "
                   "vs 1,722,949 cycles): by layer kind the closed form is 3% over on the convs "
                   "and 5-17% on the small ACT, pooling and squeeze-excitation multiply layers",
    "efficientnet_b0": "the schedule is 2.8% faster than the closed-form frame costs (6,745,641 "
                       "vs 6,942,782 cycles): by layer kind the closed form is 3.4% over on the "
                       "convs, 5% on the SiLU tables and 13-20% on the squeeze-excitation "
                       "sigmoids and multiplies; before SiLU was one table, its elementwise "
                       "multiplies (15% under) hid the conv gap (8,132,747 vs 8,046,323)",
}


def _compile(name: str):
    model = zoo.build(name)
    imported = quantize_model(model, PAPER_U200)
    module = imported.module.clone()  # tiling rewrites the module in place
    package = package_model(imported, PAPER_U200)
    x = np.random.default_rng(7).standard_normal(zoo.MODELS[name].input_shape,
                                                 dtype=np.float32)
    return model, package, module, imported.weights, x


def assert_bit_exact_on_cores(name, package, module, weights, x, cores) -> None:
    """Simulated int8 outputs equal the int8 reference on every core count (so each other),
    and more cores never take more cycles."""
    expected = run_reference(module, weights, [x])
    cycles = []
    for n in cores:
        report = simulate_package(package, [x], PAPER_U200, cores=n, host=run_host)
        (tenant,) = report.tenants.values()
        assert tenant.fault is None, f"{name} on {n} cores: {tenant.fault}"
        for got, want in zip(tenant.outputs, expected, strict=True):
            assert got.shape == want.shape
            np.testing.assert_array_equal(got, want, err_msg=f"{name} on {n} cores")
        cycles.append(tenant.cycles)
    assert cycles == sorted(cycles, reverse=True), f"{name}: cycles {cycles}"


@pytest.mark.parametrize("name", MODELS)
def test_zoo_int8_bit_exact_on_every_core_count(name):
    model, package, module, weights, x = _compile(name)
    assert_bit_exact_on_cores(name, package, module, weights, x, CORES)

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {session.get_inputs()[0].name: x})
    report = simulate_package(package, [x], PAPER_U200, cores=3, mode="fp32", host=run_host)
    (tenant,) = report.tenants.values()
    for got, ref in zip(tenant.outputs, want, strict=True):
        rel = np.abs(got - ref).max() / np.abs(ref).max()
        assert rel <= 1e-4, f"{name} fp32: max relative error {rel:.2e}"

    # The compiler's frame costs assume every core of a bank transfers (a quarter of it each);
    # under that cap the simulated schedule must agree with them.
    report = simulate_package(package, [x], PAPER_U200, functional=False,
                              port_bytes_per_cycle=core_bytes_per_cycle(PAPER_U200), host=run_host)
    (tenant,) = report.tenants.values()
    predicted = tenant.executable.predicted_cycles
    if name in COST_GAPS and abs(tenant.cycles / predicted - 1) > 0.02:
        pytest.xfail(COST_GAPS[name])
    assert abs(tenant.cycles / predicted - 1) <= 0.02, f"{name}: {tenant.cycles} vs {predicted}"
