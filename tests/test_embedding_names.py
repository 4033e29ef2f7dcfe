"""Sulston name parsing on hand-written names."""
import pytest

from devocore import lineage_names as ln


@pytest.mark.parametrize("name, founder, gen, parent", [
    ("P0", "P", 0, None),
    ("AB", "AB", 1, "P0"),
    ("P1", "P", 1, "P0"),
    ("ABa", "AB", 2, "AB"),
    ("ABp", "AB", 2, "AB"),
    ("EMS", "P", 2, "P1"),
    ("P2", "P", 2, "P1"),
    ("MS", "MS", 3, "EMS"),
    ("E", "E", 3, "EMS"),
    ("C", "C", 3, "P2"),
    ("P3", "P", 3, "P2"),
    ("D", "D", 4, "P3"),
    ("P4", "P4", 4, "P3"),
    ("Z2", "P4", 5, "P4"),
    ("Z3", "P4", 5, "P4"),
    ("ABalpa", "AB", 5, "ABalp"),
    ("ABprpapaap", "AB", 9, "ABprpapaa"),
    ("MSaapp", "MS", 7, "MSaap"),
    ("Ealp", "E", 6, "Eal"),
    ("Cpapp", "C", 7, "Cpap"),
    ("Dpaa", "D", 7, "Dpa"),
    ("ABalaaapal", "AB", 9, "ABalaaapa"),
    ("  ABa ", "AB", 2, "AB"),
])
def test_founder_generation_parent(name, founder, gen, parent):
    assert ln.founder(name) == founder
    assert ln.generation(name) == gen
    assert ln.parent(name) == parent


@pytest.mark.parametrize("bad", ["", "Nuc12", "ABx", "abp", "P5", "Z2a", "MSq", "EMSa", "A", None, 3])
def test_non_names_are_rejected(bad):
    assert ln.parse(bad) is None
    assert ln.founder(bad) is None and ln.generation(bad) is None and ln.parent(bad) is None


def test_parent_chain_reaches_the_zygote_one_generation_at_a_time():
    for name in ("ABplpapaap", "MSpppa", "Eprp", "Cappa", "Dpap", "Z3"):
        chain = [name.strip()] + ln.ancestors(name)
        assert chain[-1] == "P0"
        assert [ln.generation(c) for c in chain] == list(range(ln.generation(name), -1, -1))


def test_ancestor_at_generation():
    assert ln.ancestor_at("ABplpapa", 2) == "ABp"
    assert ln.ancestor_at("ABplpapa", 1) == "AB"
    assert ln.ancestor_at("Ea", 2) == "EMS"
    assert ln.ancestor_at("Z2", 3) == "P3"
    assert ln.ancestor_at("C", 9) == "C"
    assert ln.is_ancestor("EMS", "MSpa") and not ln.is_ancestor("AB", "MSpa")


def test_daughters_invert_parent():
    for mother in ("P0", "P1", "EMS", "P2", "P3", "P4", "ABa", "MSp"):
        for child in ln.daughters(mother):
            assert ln.parent(child) == mother
    with pytest.raises(ValueError):
        ln.daughters("Z2")
