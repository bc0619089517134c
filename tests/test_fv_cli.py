"""The `fv` driver: help for every subcommand, one-line errors for user mistakes."""

import pytest

from fvir.tools.fv import COMMANDS, main


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", COMMANDS)
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert "usage: fv " + name in capsys.readouterr().out


def test_bad_flag_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--no-such-flag"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --no-such-flag" in err


def test_unknown_pass_is_one_line(capsys):
    assert main(["passes", "no-such-pass"]) == 1
    err = capsys.readouterr().err
    assert err == "fv passes: error: unknown pass 'no-such-pass' (run 'fv passes' for the list)\n"


def test_passes_lists_every_pass_in_one_sentence(capsys):
    """`fv passes` shows each registered pass with a complete one-line summary."""
    from fvir.passes import get_all_passes

    assert main(["passes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(get_all_passes())
    for line in lines:
        assert line.rstrip().endswith("."), line


def test_pass_documentation(capsys):
    assert main(["passes", "dnn-tile"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dnn-tile\n") and "Options:" in out and "min-tiles" in out
