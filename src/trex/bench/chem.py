"""Chemistry metrics of FT-Bench (TOMG-Bench and oMeBench), computed with RDKit (extra ``chem``).

``tomg_success``: an example succeeds when the generated SMILES parses and meets the instruction,
as TOMG-Bench's evaluate.py checks it: MolCustom, every requested atom, bond or functional-group
count matches; MolEdit, the named group's count went up by one (add), down by one (delete), or
one down and the other up (substitute) relative to the source molecule; MolOpt, LogP, MR or QED
moved in the requested direction. The reference is a JSON object written by the preparer.
Functional groups are matched by the SMARTS of ``FUNCTIONAL_GROUPS``.

``ome_score``: oMeBench's oMeS with partial credit: a weighted Needleman-Wunsch alignment of
predicted mechanism steps ``{subtype, intermediate_smiles}`` with the gold steps ``{subtype,
smiles, weight}``. Aligned steps must share the subtype; they earn the step's weight times 1 for
the same canonical SMILES, else times the Morgan (radius 2, 2048 bits) Tanimoto similarity when
it is at least 0.6; gaps earn nothing. An answer without a JSON list scores 0.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

FUNCTIONAL_GROUPS: dict[str, str] = {
    "benzene rings": "c1ccccc1",
    "benzene ring": "c1ccccc1",
    "hydroxyl": "[OX2H][#6;!$(C=O)]",
    "aldehyde": "[CX3H1](=O)[#6]",
    "carboxyl": "[CX3](=O)[OX2H1]",
    "ketone": "[#6][CX3](=O)[#6]",
    "ester": "[#6][CX3](=O)[OX2H0][#6]",
    "ether": "[OD2]([#6;!$(C=O)])[#6;!$(C=O)]",
    "amide": "[NX3][CX3](=[OX1])",
    "amine": "[NX3;!$(N-C=[O,N,S]);!$(N-[a])]",
    "nitro": "[$([NX3](=O)=O),$([NX3+](=O)[O-])]",
    "nitrile": "[NX1]#[CX2]",
    "halo": "[F,Cl,Br,I]",
    "thiol": "[#16X2H]",
    "double bond": "[#6]=[#6]",
    "triple bond": "[#6]#[#6]",
}

ATOMS: dict[str, str] = {
    "carbon": "C",
    "oxygen": "O",
    "nitrogen": "N",
    "sulfur": "S",
    "fluorine": "F",
    "chlorine": "Cl",
    "bromine": "Br",
    "iodine": "I",
    "phosphorus": "P",
    "boron": "B",
    "silicon": "Si",
    "selenium": "Se",
}


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


def group_count(mol: Any, group: str) -> int:
    smarts = FUNCTIONAL_GROUPS.get(group.lower().strip())
    if smarts is None:
        raise ChemError(f"unknown functional group {group!r}: one of {', '.join(FUNCTIONAL_GROUPS)}")
    return len(mol.GetSubstructMatches(_rdkit().MolFromSmarts(smarts)))


def atom_count(mol: Any, atom: str) -> int:
    symbol = ATOMS.get(atom.lower().strip())
    if symbol is None:
        raise ChemError(f"unknown atom {atom!r}: one of {', '.join(ATOMS)}")
    return sum(a.GetSymbol() == symbol for a in mol.GetAtoms())


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
    gold = json.loads(reference)
    pred = _steps(prediction)
    if not pred or not gold:
        return 0.0
    total = sum(float(g["weight"]) for g in gold) or 1.0

    def credit(g: dict[str, Any], p: dict[str, Any]) -> float | None:
        if str(p.get("subtype", "")).strip().lower() != str(g["subtype"]).strip().lower():
            return None  # only steps of the same subtype may align
        smiles = str(p.get("intermediate_smiles", p.get("smiles", "")))
        if canonical(smiles) is not None and canonical(smiles) == canonical(g["smiles"]):
            return float(g["weight"])
        similarity = tanimoto(smiles, g["smiles"])
        return float(g["weight"]) * similarity if similarity >= threshold else 0.0

    rows, cols = len(gold), len(pred)
    score = [[0.0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            best = max(score[i - 1][j], score[i][j - 1])
            match = credit(gold[i - 1], pred[j - 1])
            if match is not None:
                best = max(best, score[i - 1][j - 1] + match)
            score[i][j] = best
    return score[rows][cols] / total


def ome_score(predictions: Sequence[str], references: Sequence[str]) -> float:
    """oMeBench's oMeS with partial credit, averaged over reactions."""
    pairs = list(zip(predictions, references, strict=True))
    return sum(ome_example(p, r) for p, r in pairs) / len(pairs) if pairs else 0.0


ome_score.example = ome_example  # type: ignore[attr-defined]
ome_score.exact = False  # type: ignore[attr-defined]
