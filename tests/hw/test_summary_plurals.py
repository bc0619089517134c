"""`PoolConfig.summary()` counts in correct English: big-core has one bank of one core."""

from fvir.hw import BIG_CORE, PAPER_U200


def test_one_bank_of_one_core_is_singular():
    last = BIG_CORE.summary().splitlines()[-1]
    assert last == "  DDR: 1 bank x 77 GB/s, 1 core per bank, 64 GiB per bank"


def test_several_are_plural():
    last = PAPER_U200.summary().splitlines()[-1]
    assert last == "  DDR: 4 banks x 19.25 GB/s, 4 cores per bank, 16 GiB per bank"
