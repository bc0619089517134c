"""`fv zoo list` and `fv zoo build` through the `fv` driver."""

import json

import onnx
import pytest

from fvir import zoo
from fvir.tools.fv import main

NAMES = [
    "vgg16", "resnet18", "resnet50", "mobilenetv2", "mobilenetv3", "googlenet",
    "efficientnet_b0", "regnety_400mf", "resnext50", "densenet121", "convnext_tiny", "unet", "lstm",
    "gru", "crnn", "vit", "bert",
]


def test_list_table(capsys):
    assert main(["zoo", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["NAME", "KIND", "INPUT", "PARAMS", "MACS"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(rows) == NAMES
    # Published sizes: ResNet-50 25.56M parameters and 4.09 GMACs, VGG-16 138.36M.
    assert rows["resnet50"][1:5] == ["cnn", "1x3x224x224", "25.56M", "4.09G"]
    assert rows["vgg16"][3] == "138.36M"
    assert rows["crnn"][1:3] == ["mixed", "1x1x32x128"]


def test_list_json(capsys):
    assert main(["zoo", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == NAMES
    by_name = {r["name"]: r for r in rows}
    assert by_name["resnet18"]["params"] == 11_689_512
    assert by_name["mobilenetv2"]["params"] == 3_504_872
    assert by_name["lstm"]["input_shape"] == [32, 1, 512]
    assert by_name["lstm"]["kind"] == "rnn"
    assert set(rows[0]) == {"name", "kind", "input_shape", "params", "macs", "description"}


def test_build_writes_the_zoo_model(tmp_path, capsys):
    out = tmp_path / "r18.onnx"
    assert main(["zoo", "build", "resnet18", "-o", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: resnet18, seed 0, ")
    assert out.read_bytes() == zoo.build("resnet18").SerializeToString()
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim] == [1, 1000]


def test_build_seed(tmp_path):
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    assert main(["zoo", "build", "gru", "-o", str(a), "--seed", "7"]) == 0
    assert main(["zoo", "build", "gru", "-o", str(b)]) == 0
    assert a.read_bytes() == zoo.build("gru", seed=7).SerializeToString()
    assert a.read_bytes() != b.read_bytes()


def test_unknown_model_is_one_line(tmp_path, capsys):
    assert main(["zoo", "build", "alexnet", "-o", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err
    assert err == (
        "fv zoo: error: unknown model 'alexnet' (available: vgg16, resnet18, resnet50, "
        "mobilenetv2, mobilenetv3, googlenet, efficientnet_b0, regnety_400mf, resnext50, "
        "densenet121, convnext_tiny, unet, lstm, gru, crnn, vit, bert)\n"
    )
    assert not (tmp_path / "x.onnx").exists()


def test_unwritable_output_is_one_line(tmp_path, capsys):
    target = tmp_path / "missing" / "x.onnx"
    assert main(["zoo", "build", "lstm", "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert err == (f"fv zoo: error: cannot write '{target}': no such directory "
                   f"'{target.parent}'\n")


def test_negative_seed_is_one_line(tmp_path, capsys):
    assert main(["zoo", "build", "lstm", "-o", str(tmp_path / "x.onnx"), "--seed", "-1"]) == 1
    assert capsys.readouterr().err == "fv zoo: error: --seed must be non-negative, got -1\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["zoo"], "the following arguments are required: ACTION"),
        (["zoo", "build", "lstm"], "the following arguments are required: -o/--output"),
    ],
)
def test_usage_mistakes_are_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
