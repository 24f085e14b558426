"""Chemistry metrics of FT-Bench (TOMG-Bench and oMeBench), computed with RDKit (extra ``chem``).

``tomg_success``: an example succeeds when the generated SMILES parses and meets the instruction,
as TOMG-Bench's evaluate.py checks it (phenixace/TOMG-Bench, ported check by check): MolCustom
AtomNum, the count of every one of its 17 atom types equals the request (zeros included);
BondNum, every requested non-zero bond count matches; FunctionalGroup, the count of every one of
its 18 groups equals the request (zeros included); MolEdit, the named group's count went up by one
(add), down by one (delete), or one down and the other up (substitute) relative to the source
molecule; MolOpt, LogP, MR or QED moved the way the instruction says ('lower' or 'decrease' in it:
lower, else higher). Groups are counted with TOMG-Bench's own SMARTS (``FUNCTIONAL_GROUPS``). The
reference is a JSON object written by the preparer. TOMG-Bench's weighted score (wAcc, WSR) is not
computed in its repositories; the task averages this success rate over the nine subtasks.

``ome_score``: oMeBench's oMeS with partial credit, ported from its scripts/utils_eval.py: a
weighted Needleman-Wunsch alignment of predicted mechanism steps ``{subtype, intermediate_smiles}``
with the gold steps ``{subtype, smiles, weight}``. Aligned steps must share the subtype; they earn
the step's weight times the Morgan (radius 2, 2048 bits) Tanimoto similarity when it is at least
0.6 (the weight itself for the same molecule); the alignment maximizes the exact-match total first,
then this partial total; gaps earn nothing; a SMILES RDKit rejects earns nothing. An answer without
a JSON list scores 0. Not ported: oMeBench rounds each reaction's score to two decimals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

# TOMG-Bench's SMARTS (utils/evaluation.py, mol_prop "num_<group>"), by the names its CSVs use; a group
# whose count subtracts another pattern's matches is (pattern, exception) as TOMG writes it.
FUNCTIONAL_GROUPS: dict[str, str | tuple[str, str]] = {
    "benzene_ring": "[cR1]1[cR1][cR1][cR1][cR1][cR1]1",
    "hydroxyl": "[OX2H]",
    "anhydride": "[CX3](=[OX1])[OX2][CX3](=[OX1])",
    "aldehyde": "[CX3H1](=O)[#6]",
    "ketone": "[#6][CX3](=O)[#6]",
    "carboxyl": "[CX3](=O)[OX2H1]",
    "ester": "[#6][CX3](=O)[OX2H0][#6]",
    "amide": "[NX3][CX3](=[OX1])[#6]",
    "amine": "[NX3;H2,H1;!$(NC=O)]",
    "nitro": "[$([NX3](=O)=O),$([NX3+](=O)[O-])][!#8]",
    "halo": "[F,Cl,Br,I]",
    "thioether": "[SX2][CX4]",
    "nitrile": "[NX1]#[CX2]",
    "thiol": "[#16X2H]",
    "sulfide": ("[#16X2H0]", "[#16X2H0][#16X2H0]"),
    "disulfide": "[#16X2H0][#16X2H0]",
    "sulfoxide": "[$([#16X3]=[OX1]),$([#16X3+][OX1-])]",
    "sulfone": "[$([#16X4](=[OX1])=[OX1]),$([#16X4+2]([OX1-])[OX1-])]",
    "borane": "[BX3]",
}
# The groups evaluate.py checks in MolCustom/FunctionalGroup (every one, zeros included; not thioether).
CUSTOM_GROUPS = [g for g in FUNCTIONAL_GROUPS if g != "thioether"]

# evaluate.py's atom_type list for MolCustom/AtomNum (every one is checked, zeros included).
ATOMS: dict[str, int] = {
    "carbon": 6,
    "oxygen": 8,
    "nitrogen": 7,
    "sulfur": 16,
    "fluorine": 9,
    "chlorine": 17,
    "bromine": 35,
    "iodine": 53,
    "phosphorus": 15,
    "boron": 5,
    "silicon": 14,
    "selenium": 34,
    "tellurium": 52,
    "arsenic": 33,
    "antimony": 51,
    "bismuth": 83,
    "polonium": 84,
}
BONDS = ("single", "double", "triple", "rotatable", "aromatic")


class ChemError(RuntimeError):
    """RDKit is missing, or a reference names something these metrics do not know."""


@cache
def _rdkit() -> Any:
    try:
        from rdkit import Chem, RDLogger

        RDLogger.DisableLog("rdApp.*")
        return Chem
    except ImportError as exc:
        raise ChemError("this FT-Bench metric needs RDKit: pip install 'trex[chem]'") from exc


def extract_smiles(text: str) -> str:
    """The molecule of an answer: a JSON "molecule" value, the text after 'Molecule:', or the first token."""
    match = re.search(r'"molecule"\s*:\s*"([^"]+)"', text) or re.search(r"(?i)molecule\s*[:：]\s*(\S+)", text)
    if match:
        return match.group(1).strip().rstrip(".,;")
    tokens = text.strip().split()
    return tokens[0].rstrip(".,;") if tokens else ""


def _mol(smiles: str) -> Any:
    chem = _rdkit()
    return chem.MolFromSmiles(smiles) if smiles else None


def _matches(mol: Any, smarts: str) -> int:
    return len(mol.GetSubstructMatches(_rdkit().MolFromSmarts(smarts)))


def group_count(mol: Any, group: str) -> int:
    """TOMG-Bench's count of a functional group ('benzene ring', 'benzene rings' and 'benzene_ring' are one)."""
    name = group.lower().strip().replace(" ", "_")
    name = "benzene_ring" if name == "benzene_rings" else name
    smarts = FUNCTIONAL_GROUPS.get(name)
    if smarts is None:
        raise ChemError(f"unknown functional group {group!r}: one of {', '.join(FUNCTIONAL_GROUPS)}")
    if isinstance(smarts, tuple):
        return _matches(mol, smarts[0]) - _matches(mol, smarts[1])
    return _matches(mol, smarts)


def atom_count(mol: Any, atom: str) -> int:
    number = ATOMS.get(atom.lower().strip())
    if number is None:
        raise ChemError(f"unknown atom {atom!r}: one of {', '.join(ATOMS)}")
    return sum(a.GetAtomicNum() == number for a in mol.GetAtoms())


def bond_count(mol: Any, kind: str) -> int:
    from rdkit.Chem import rdMolDescriptors

    if kind == "rotatable":
        return int(rdMolDescriptors.CalcNumRotatableBonds(mol))
    names = {"single": "SINGLE", "double": "DOUBLE", "triple": "TRIPLE", "aromatic": "AROMATIC"}
    if kind not in names:
        raise ChemError(f"unknown bond kind {kind!r}: one of rotatable, {', '.join(names)}")
    return sum(str(b.GetBondType()) == names[kind] for b in mol.GetBonds())


def molecular_property(mol: Any, name: str) -> float:
    from rdkit.Chem import QED, Crippen

    match name.lower():
        case "logp":
            return float(Crippen.MolLogP(mol))
        case "mr":
            return float(Crippen.MolMR(mol))
        case "qed":
            return float(QED.qed(mol))
    raise ChemError(f"unknown property {name!r}: LogP, MR or QED")


def tomg_example(prediction: str, reference: str) -> float:
    ref = json.loads(reference)
    mol = _mol(extract_smiles(prediction))
    if mol is None:
        return 0.0
    task = ref["task"]
    if task == "MolCustom_AtomNum":
        return float(all(atom_count(mol, a) == n for a, n in ref["counts"].items()))
    if task == "MolCustom_BondNum":
        return float(all(bond_count(mol, b) == n for b, n in ref["counts"].items()))
    if task == "MolCustom_FunctionalGroup":
        return float(all(group_count(mol, g) == n for g, n in ref["counts"].items()))
    source = _mol(ref["molecule"])
    if source is None:
        raise ChemError(f"reference molecule {ref['molecule']!r} does not parse")
    if task == "MolEdit_AddComponent":
        return float(group_count(mol, ref["added"]) == group_count(source, ref["added"]) + 1)
    if task == "MolEdit_DelComponent":
        return float(group_count(mol, ref["removed"]) == group_count(source, ref["removed"]) - 1)
    if task == "MolEdit_SubComponent":
        removed = group_count(mol, ref["removed"]) == group_count(source, ref["removed"]) - 1
        added = group_count(mol, ref["added"]) == group_count(source, ref["added"]) + 1
        return float(removed and added)
    if task.startswith("MolOpt_"):
        before, after = molecular_property(source, ref["property"]), molecular_property(mol, ref["property"])
        return float(after < before if ref["direction"] == "lower" else after > before)
    raise ChemError(f"unknown TOMG-Bench subtask {task!r}")


def tomg_success(predictions: Sequence[str], references: Sequence[str]) -> float:
    """TOMG-Bench success rate (valid and meeting the instruction); the task file averages it over subtasks."""
    pairs = list(zip(predictions, references, strict=True))
    return sum(tomg_example(p, r) for p, r in pairs) / len(pairs) if pairs else 0.0


tomg_success.example = tomg_example  # type: ignore[attr-defined]
tomg_success.exact = True  # type: ignore[attr-defined]


def canonical(smiles: str) -> str | None:
    mol = _mol(smiles)
    return _rdkit().MolToSmiles(mol) if mol is not None else None


def tanimoto(a: str, b: str) -> float:
    from rdkit import DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    ma, mb = _mol(a), _mol(b)
    if ma is None or mb is None:
        return 0.0
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return float(DataStructs.TanimotoSimilarity(generator.GetFingerprint(ma), generator.GetFingerprint(mb)))


def _steps(text: str) -> list[dict[str, Any]] | None:
    match = re.search(r"\[.*\]", text, re.DOTALL)
    if not match:
        return None
    try:
        steps = json.loads(match.group(0))
    except ValueError:
        return None
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else None


def ome_example(prediction: str, reference: str, threshold: float = 0.6) -> float:
    """oMeS partial for one reaction, as oMeBench's scripts/utils_eval.py aligns: the path that maximizes the
    exact total first, then the partial total (its tie-break); only steps of the same subtype (compared as
    written) align; a SMILES RDKit rejects, gold or predicted, earns nothing."""
    gold = json.loads(reference)
    pred = _steps(prediction)
    if not pred or not gold:
        return 0.0
    total = sum(float(g["weight"]) for g in gold) or 1.0
    gold_can = [canonical(str(g["smiles"])) for g in gold]
    pred_smiles = [str(p.get("intermediate_smiles", p.get("smiles", ""))) for p in pred]
    pred_can = [canonical(smiles) for smiles in pred_smiles]

    def credit(i: int, j: int) -> tuple[float, float]:
        g, weight = gold[i], float(gold[i]["weight"])
        if str(pred[j].get("subtype", "")) != str(g["subtype"]) or not gold_can[i] or not pred_can[j]:
            return 0.0, 0.0
        exact = weight if gold_can[i] == pred_can[j] else 0.0
        similarity = tanimoto(pred_smiles[j], str(g["smiles"]))
        return exact, weight * similarity if similarity >= threshold else 0.0

    rows, cols = len(gold), len(pred)
    score = [[(0.0, 0.0)] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            exact, partial = credit(i - 1, j - 1)
            diagonal = (score[i - 1][j - 1][0] + exact, score[i - 1][j - 1][1] + partial)
            score[i][j] = max(score[i - 1][j], score[i][j - 1], diagonal)
    return score[rows][cols][1] / total


def ome_score(predictions: Sequence[str], references: Sequence[str]) -> float:
    """oMeBench's oMeS with partial credit, averaged over reactions."""
    pairs = list(zip(predictions, references, strict=True))
    return sum(ome_example(p, r) for p, r in pairs) / len(pairs) if pairs else 0.0


ome_score.example = ome_example  # type: ignore[attr-defined]
ome_score.exact = False  # type: ignore[attr-defined]
