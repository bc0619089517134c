"""Hypothesis strategies for random instructions: every field drawn over its whole range."""

from hypothesis import strategies as st

from fvir.isa import SPECS, Instruction, Opcode
from fvir.isa.spec import Field


def field_values(f: Field) -> st.SearchStrategy[int]:
    if f.enum is not None:
        return st.sampled_from([int(m) for m in f.enum])
    # Bias towards the edges of the range, where packing mistakes show.
    return st.one_of(st.sampled_from([f.lo, f.hi, 0 if f.lo <= 0 else f.lo]),
                     st.integers(f.lo, f.hi))


@st.composite
def instructions(draw: st.DrawFn, op: Opcode | None = None) -> Instruction:
    if op is None:
        op = draw(st.sampled_from(list(Opcode)))
    fields = {f.name: draw(field_values(f)) for f in SPECS[op].fields}
    return Instruction.make(op, draw(st.integers(0, 15)), draw(st.integers(0, 15)), **fields)


streams = st.lists(instructions(), max_size=40)
