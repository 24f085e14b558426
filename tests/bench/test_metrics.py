"""FT-Bench metrics against hand-computed values."""

from __future__ import annotations

import json
import math

import pytest

from trex.bench import chem
from trex.bench.metrics import (
    all_items_present,
    char_f1,
    choice_accuracy,
    hoc_macro_f1,
    last_letter_accuracy,
    law_choice_accuracy,
    law_set_f1,
    ordering_accuracy,
    prison_term_score,
)


def test_choice_and_judgment_extraction() -> None:
    preds = ["The answer is B.", "B", "false, because threads share memory", "I think it is True", "C) merge"]
    refs = ["B", "C", "false", "false", "c"]
    assert choice_accuracy(preds, refs) == pytest.approx(3 / 5)  # 1, 0, 1, 0, 1


def test_last_letter_and_entities() -> None:
    # OpenCompass takes the last capital letter: "A 还是 B？答案是B" -> B
    assert last_letter_accuracy(["A 还是 B？答案是B", "答案：C", "无"], ["B", "A", "A"]) == pytest.approx(1 / 3)
    assert all_items_present(["腾讯和阿里巴巴", "腾讯"], ["腾讯、阿里巴巴", "腾讯、阿里巴巴"]) == 0.5


def test_ordering() -> None:
    assert ordering_accuracy(["B, A, D, C", "The order is B A C D", "BADC"], ["B, A, D, C"] * 3) == pytest.approx(
        1 / 3
    )


def test_hoc_macro_f1_by_hand() -> None:
    preds = ["resisting cell death; inducing angiogenesis", "none", "cellular energetics; made-up label"]
    refs = ["resisting cell death", "inducing angiogenesis", "cellular energetics"]
    # resisting: tp 1 -> 1.0; angiogenesis: tp 0, fp 1, fn 1 -> 0; energetics: tp 1 -> 1.0; others absent: left out
    assert hoc_macro_f1(preds, refs) == pytest.approx(2 / 3)
    assert hoc_macro_f1.example("none", "none") == 1.0


def test_lawbench_metrics_by_hand() -> None:
    assert law_choice_accuracy(
        ["正确答案：A", "AB", "答案是C"], ["正确答案：A。", "正确答案：A、B。", "正确答案：D。"]
    ) == (pytest.approx(2 / 3))
    # {盗窃, 抢劫} against {盗窃}: 2*1/(2+1)
    assert law_set_f1(["罪名：盗窃、抢劫"], ["罪名：盗窃"]) == pytest.approx(2 / 3)
    # characters: pred 今天下雨 vs ref 今天晴: common 今天 -> P 2/4, R 2/3 -> F 4/7
    assert char_f1(["今天下雨"], ["今天晴"]) == pytest.approx(4 / 7)
    # 1 year = 12 months vs 6 months: 1 - |ln 13 - ln 7| / ln 216
    assert prison_term_score(["刑期：1年"], ["刑期：6个月"]) == pytest.approx(
        1 - abs(math.log(13 / 7)) / math.log(216)
    )
    assert prison_term_score(["不知道"], ["刑期：6个月"]) == 0.0


def _ref(**fields: object) -> str:
    return json.dumps(fields)


def test_tomg_success_by_hand() -> None:
    refs = [
        _ref(task="MolCustom_AtomNum", counts={"carbon": 2, "oxygen": 1}),
        _ref(task="MolCustom_BondNum", counts={"double": 1}),
        _ref(task="MolCustom_FunctionalGroup", counts={"hydroxyl": 2}),
        _ref(task="MolEdit_AddComponent", molecule="CCC", added="hydroxyl"),
        _ref(task="MolEdit_DelComponent", molecule="OCCO", removed="hydroxyl"),
        _ref(task="MolEdit_SubComponent", molecule="CCCO", removed="hydroxyl", added="amine"),
        _ref(task="MolOpt_LogP", molecule="CCCCCC", property="LogP", direction="lower"),
        _ref(task="MolOpt_QED", molecule="CCCCCCCCCC", property="QED", direction="higher"),
    ]
    good = ["CCO", "Molecule: C=CC", '{"molecule": "OCCO"}', "CCCO", "CCO", "CCCN", "CCCCCO", "c1ccccc1O"]
    assert [chem.tomg_example(p, r) for p, r in zip(good, refs, strict=True)] == [1.0] * 8
    bad = ["CCCO", "CCC", "OCCCO(", "CCC", "OCCO", "CCCO", "CCCCCCCC", "CCCCCCCCCCC"]
    assert [chem.tomg_example(p, r) for p, r in zip(bad, refs, strict=True)] == [0.0] * 8
    assert chem.tomg_success(good[:2] + bad[:2], refs[:4]) == 0.5


def test_ome_score_by_hand() -> None:
    gold = json.dumps(
        [
            {"subtype": "protonation", "smiles": "CC(C)(C)[OH2+]", "weight": 0.4},
            {"subtype": "leaving group departure", "smiles": "C[C+](C)C", "weight": 0.3},
            {"subtype": "nucleophilic attack", "smiles": "CC(C)(C)Cl", "weight": 0.3},
        ]
    )
    exact = [
        {"subtype": "protonation", "intermediate_smiles": "[OH2+]C(C)(C)C"},  # same molecule, other SMILES
        {"subtype": "leaving group departure", "intermediate_smiles": "C[C+](C)C"},
        {"subtype": "nucleophilic attack", "intermediate_smiles": "ClC(C)(C)C"},
    ]
    assert chem.ome_example(json.dumps(exact), gold) == pytest.approx(1.0)
    # a wrong subtype cannot align; a skipped step earns nothing: 0.4 + 0.3
    partial = [exact[0], {"subtype": "elimination", "intermediate_smiles": "C[C+](C)C"}, exact[2]]
    assert chem.ome_example("Mechanism: " + json.dumps(partial), gold) == pytest.approx(0.7)
    # similar but not identical intermediates earn weight x Tanimoto when it is >= 0.6
    similar = chem.tanimoto("CC(C)(C)Cl", "CC(C)(C)Br")
    near = [exact[0], exact[1], {"subtype": "nucleophilic attack", "intermediate_smiles": "CC(C)(C)Br"}]
    expected = 0.7 + (0.3 * similar if similar >= 0.6 else 0.0)
    assert chem.ome_example(json.dumps(near), gold) == pytest.approx(expected)
    assert chem.ome_example("no idea", gold) == 0.0
    assert chem.ome_score([json.dumps(exact), "no idea"], [gold, gold]) == pytest.approx(0.5)


def test_tomg_checks_as_evaluate_py() -> None:
    """Worked by hand from TOMG-Bench's evaluate.py and utils/evaluation.py (phenixace/TOMG-Bench@692f6b1)."""
    from trex.bench.prepare import PREPARERS

    atom_row = {"Instruction": "Please generate a molecule with 2 carbon atoms.", "carbon": "2", "oxygen": "0"}
    bond_row = {"Instruction": "... 1 double bond.", "single": "0", "double": "1", "rotatable": "0"}
    group_row = {"Instruction": "... 1 benzene rings group.", "benzene rings": "1", "halo": "0", "thioether": "1"}
    opt_row = {"Instruction": "Please optimize the molecule CCCCCC to have a Lower LogP value.", "molecule": "CCCCCC"}
    rows = [
        {**atom_row, "group": "MolCustom_AtomNum"},
        {**bond_row, "group": "MolCustom_BondNum"},
        {**group_row, "group": "MolCustom_FunctionalGroup"},
        {**opt_row, "group": "MolOpt_LogP"},
        {
            "Instruction": "Please remove a benzene_ring ...",
            "molecule": "c1ccccc1CCc1ccccc1",
            "removed_group": "benzene_ring",
            "group": "MolEdit_DelComponent",
        },
    ]
    atom, bond, group, opt, edit = (r["label"] for r in PREPARERS["tomg"](rows, "test", {}))
    assert chem.tomg_example("CC", atom) == 1.0
    assert chem.tomg_example("CO", atom) == 0.0  # 1 carbon; and "CCO" fails on the unrequested oxygen (zeros checked)
    assert chem.tomg_example("CCO", atom) == 0.0
    assert chem.tomg_example("C=CC", bond) == 1.0  # 2 single bonds are not checked: the request is 0
    assert chem.tomg_example("c1ccccc1", group) == 1.0  # thioether is a CSV column that evaluate.py skips
    assert chem.tomg_example("c1ccccc1Cl", group) == 0.0  # halo 0 is checked
    assert chem.tomg_example("CCCCCO", opt) == 0.0  # 'Lower' is not 'lower': evaluate.py asks for a higher LogP
    assert chem.tomg_example("CCCCCCC", opt) == 1.0
    assert chem.tomg_example("c1ccccc1CC", edit) == 1.0
    mol = chem._mol("CSSC.CSC")
    # TOMG counts sulfides as divalent S atoms (3) minus S-S matches (1, uniquified): 2, one disulfide S included
    assert (chem.group_count(mol, "sulfide"), chem.group_count(mol, "disulfide")) == (2, 1)
