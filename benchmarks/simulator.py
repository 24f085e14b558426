"""A simulator of fine-tuning landscapes for comparing search policies without training anything.

Each seeded ``Landscape`` hides the effects of the four levers a researcher pulls: data cleaning
level (too strict loses data: an optimum), synthetic-data ratio (helps up to a point; its benefit
depends on the data quality: an interaction), learning rate and epochs (a smooth optimum, and
divergence risk at high learning rates), plus evaluation noise and a failure rate. Policies see
only noisy evaluations; ``true_score`` and ``optimum`` exist for scoring the search afterwards.

``simulate_tree`` runs the real trex tree and policies (``trex.search``) with a simulated,
policy-agnostic researcher: it changes the parent's best config along one strategy's levers,
with 3-5 configs per plan. Only the selection differs between policies.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

import numpy as np

from trex.search.policies import DEFAULT_C, backpropagate, expandable, make_policy
from trex.search.tree import DONE, FAILED, Node, Tree

STRATEGIES = ("refine_data", "synthetic_data", "adjust_training")


@dataclass(frozen=True)
class SimConfig:
    data_level: int = 1  # 0 (raw) .. 4 (strictest cleaning)
    synth_ratio: float = 0.0  # share of synthetic rows, 0 .. 1
    log_lr: float = -4.0  # log10 learning rate, -6.5 .. -2
    epochs: float = 1.0  # 0.5 .. 5
    full: bool = False  # training scheme: LoRA (False) or full fine-tuning (True)

    def clipped(self) -> SimConfig:
        return SimConfig(
            data_level=int(min(4, max(0, self.data_level))),
            synth_ratio=float(min(1.0, max(0.0, self.synth_ratio))),
            log_lr=float(min(-2.0, max(-6.5, self.log_lr))),
            epochs=float(min(5.0, max(0.5, self.epochs))),
            full=self.full,
        )


class Landscape:
    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.base = rng.uniform(0.3, 0.55)
        self.train_height = rng.uniform(0.12, 0.3)
        self.lr_opt = rng.uniform(-4.5, -3.0)
        self.lr_width = rng.uniform(0.35, 0.8)
        self.ep_opt = rng.uniform(1.0, 4.0)
        self.ep_width = rng.uniform(0.8, 2.0)
        self.data_a = rng.uniform(0.0, 0.06)  # gain per cleaning level ...
        self.data_b = rng.uniform(0.004, 0.02)  # ... minus the cost of losing rows
        self.synth_height = rng.uniform(0.0, 0.1)
        self.synth_opt = rng.uniform(0.1, 0.7)
        self.synth_width = rng.uniform(0.15, 0.4)
        self.synth_quality = rng.uniform(0.0, 1.0)  # how much synthetic data needs clean data
        self.full_gain = rng.uniform(-0.06, 0.1)  # full fine-tuning: a higher or lower ceiling ...
        self.full_lr_shift = rng.uniform(0.6, 1.6)  # ... at a lower learning rate optimum
        self.noise_sd = rng.uniform(0.005, 0.025)
        self.fail_base = rng.uniform(0.02, 0.08)
        self._optimum: float | None = None

    def true_score(self, cfg: SimConfig) -> float:
        lr_opt = self.lr_opt - self.full_lr_shift * cfg.full
        height = max(0.02, self.train_height + self.full_gain * cfg.full)
        train = height * math.exp(
            -(((cfg.log_lr - lr_opt) / self.lr_width) ** 2) - ((cfg.epochs - self.ep_opt) / self.ep_width) ** 2
        )
        data = self.data_a * cfg.data_level - self.data_b * cfg.data_level**2
        quality = 1.0 - self.synth_quality * (1.0 - cfg.data_level / 4)
        synth = self.synth_height * quality * math.exp(-(((cfg.synth_ratio - self.synth_opt) / self.synth_width) ** 2))
        synth -= 0.05 * max(0.0, cfg.synth_ratio - 0.8)  # drowning the real data hurts
        return float(min(1.0, max(0.0, self.base + train + data + synth)))

    def evaluate(self, cfg: SimConfig, rng: random.Random) -> float | None:
        """A noisy validation score, or None when the run fails (more often at high learning rates)."""
        lr_opt = self.lr_opt - self.full_lr_shift * cfg.full
        fail = self.fail_base + 0.3 * max(0.0, cfg.log_lr - lr_opt - 0.8)
        if rng.random() < fail:
            return None
        return float(min(1.0, max(0.0, self.true_score(cfg) + rng.gauss(0.0, self.noise_sd))))

    def optimum(self) -> float:
        """The best true score: the training term peaks at (lr_opt, ep_opt), inside the bounds, and is
        separable from the data and synthetic terms, which are maximized on a fine grid."""
        if self._optimum is None:
            rest = max(
                self.true_score(
                    SimConfig(level, float(synth), self.lr_opt - self.full_lr_shift * full, self.ep_opt, full)
                )
                for level in range(5)
                for synth in np.linspace(0.0, 1.0, 201)
                for full in (False, True)
            )
            self._optimum = rest
        return self._optimum


def propose(strategy: str, best: SimConfig, k: int, rng: random.Random, depth: int = 1) -> list[SimConfig]:
    """k variations of ``best`` along one strategy's levers (the simulated researcher)."""
    out = []
    for i in range(k):
        step = (i // 2 + 1) * (1 if i % 2 == 0 else -1)
        if strategy == "refine_data":
            cfg = replace(best, data_level=best.data_level + step)
        elif strategy == "synthetic_data":
            cfg = replace(best, synth_ratio=best.synth_ratio + 0.12 * step + rng.uniform(-0.03, 0.03))
        elif i == k - 1 and k >= 3:  # one config tries the other training scheme, with a prior on its rate
            cfg = replace(best, full=not best.full, log_lr=best.log_lr + (1.0 if best.full else -1.0))
        else:
            cfg = replace(
                best,
                log_lr=best.log_lr + 0.3 * step + rng.uniform(-0.05, 0.05),
                epochs=best.epochs * (1.3 ** rng.choice([-1, 0, 1])),
            )
        out.append(cfg.clipped())
    return out


def root_configs(k: int) -> list[SimConfig]:
    return [SimConfig(log_lr=lr) for lr in (-4.0, -3.5, -4.5, -3.0, -5.0)[:k]]


@dataclass
class SimResult:
    best_observed: float
    best_true: float  # true score of the config with the best observed score
    evaluations: int


def simulate_tree(
    landscape: Landscape,
    policy_name: str,
    iterations: int,
    k: int,
    seed: int,
    c: float = DEFAULT_C,
    max_children: int = 4,
) -> SimResult:
    """Grow a tree of ``iterations`` nodes with the given policy on one landscape."""
    rng = random.Random(seed)
    policy = make_policy(policy_name, c)
    tree = Tree()
    best_cfg: dict[int, SimConfig] = {}
    tried: dict[int, list[str]] = {}
    best_obs, best_true, evaluations = -1.0, 0.0, 0
    for node_id in range(1, iterations + 1):
        if node_id == 1:
            parent, strategy, configs = None, "establish_baseline", root_configs(k)
        else:
            candidates = expandable(tree, max_children)
            if not candidates:
                break
            parent = policy.select(tree, candidates, rng).node_id
            options = [s for s in STRATEGIES if s not in tried.setdefault(parent, [])] or list(STRATEGIES)
            strategy = rng.choice(options)
            tried[parent].append(strategy)
        depth = 0 if parent is None else tree.nodes[parent].depth + 1
        if parent is not None:
            configs = propose(strategy, best_cfg[parent], k, rng, depth)
        node = tree.add(Node(node_id, parent, depth, strategy))
        scores = [(landscape.evaluate(cfg, rng), cfg) for cfg in configs]
        evaluations += len(configs)
        ok = [(s, cfg) for s, cfg in scores if s is not None]
        if ok:
            score, cfg = max(ok, key=lambda item: item[0])
            node.status, node.val_score, node.reward = DONE, score, score
            best_cfg[node_id] = cfg
            if score > best_obs:
                best_obs, best_true = score, landscape.true_score(cfg)
        else:
            node.status, node.reward = FAILED, 0.0
        backpropagate(tree, node_id, node.reward)
    return SimResult(best_observed=best_obs, best_true=best_true, evaluations=evaluations)
