"""docs/isa.md is generated from the spec and must not drift from it."""

from fvir.isa import SPECS
from fvir.isa.docgen import DEFAULT_OUTPUT, main, render


def test_committed_reference_is_current():
    assert DEFAULT_OUTPUT.read_text() == render(), (
        "docs/isa.md is stale: run python -m fvir.isa.docgen"
    )


def test_reference_covers_every_instruction_and_field():
    text = render()
    for op, s in SPECS.items():
        assert f"\n### {op.name}\n" in text
        assert s.semantics in text
        for p in s.layout:
            bits = f"{p.lsb + p.field.bits - 1}:{p.lsb}" if p.field.bits > 1 else f"{p.lsb}"
            assert f"| `{p.name}` | {p.word} | {bits} |" in text


def test_check_mode(tmp_path, capsys):
    out = tmp_path / "isa.md"
    assert main(["--check", "--output", str(out)]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["--output", str(out)]) == 0
    assert main(["--check", "--output", str(out)]) == 0
    assert out.read_text() == render()
