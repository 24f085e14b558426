"""A simulator of fine-tuning landscapes, with learning curves, for comparing searches without training.

Each seeded ``Landscape`` hides the effects of the levers a researcher pulls: data cleaning level (an
optimum: too strict loses rows), synthetic-data ratio (its value depends on data quality), learning rate
and training steps (a learning curve: too few steps undertrain, too many overfit, a higher rate learns
faster), the training scheme (full fine-tuning: another ceiling at a lower rate), plus evaluation noise
and failures that grow past the learning-rate optimum. A searcher sees only noisy evaluations;
``true_score`` and ``optimum`` exist to score the search afterwards.

Steps are the fidelity. A warm start continues the parent's weights: it pays only its own steps, and the
parent's steps count toward the curve at the landscape's ``warm_keep`` (0.6-1: the restarted schedule
loses some of them). ``SimConfig.steps`` is always the effective step count that the score reflects.

``simulate_tree`` runs the real trex tree, policies and surrogate with a simulated researcher that acts
as trex's researchers do: the researcher keeps the structure (strategy, scheme) and one config per plan is
the surrogate's best proposal, fitted on the whole tree's history (inside a trust region around the parent's
best config while the tree has fewer than a dozen observations, as trex's), for the levers the strategy moves (the
others pinned to the parent's best config: ``mode="fixed"``; ``"both"`` adds a slot with every lever free,
``"global"`` keeps only that one); the rest are local moves from the parent's best config, warm-started
from it, and an idea move (the other training scheme). A new direction (a scheme switch, a learning-rate jump
beyond half a decade, a far data change) first runs as a probe at a third of the steps and is promoted
to full length by an ASHA rule (top third of all probe scores so far). Only the selection differs
between policies.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace

import numpy as np

from trex.agents.probes import ETA, FAR_RATE, promoted
from trex.agents.proposals import TRUST_RATE, TRUST_STEPS, TRUST_UNTIL
from trex.search.policies import DEFAULT_C, backpropagate, expandable, make_policy
from trex.search.surrogate import Choice, Integer, Observation, Real, SearchSpace, Surrogate
from trex.search.tree import DONE, FAILED, Node, Tree

STRATEGIES = ("refine_data", "synthetic_data", "adjust_training")
MIN_STEPS, MAX_STEPS, ROOT_STEPS = 16, 2048, 400  # ROOT_STEPS is also the unit of the compute budget
FAR_LOG_LR = math.log10(FAR_RATE)  # a learning-rate jump beyond this (decades) is a new direction, as in trex
SPACE = SearchSpace(
    params=(
        Real(name="log_lr", low=-6.5, high=-2.0),
        Integer(name="max_steps", low=MIN_STEPS, high=MAX_STEPS, log=True),
        Integer(name="data_level", low=0, high=4),
        Real(name="synth_ratio", low=0.0, high=1.0),
        Choice(name="full", choices=(False, True)),
    )
)


@dataclass(frozen=True)
class SimConfig:
    data_level: int = 1  # 0 (raw) .. 4 (strictest cleaning)
    synth_ratio: float = 0.0  # share of synthetic rows, 0 .. 1
    log_lr: float = -4.0  # log10 learning rate, -6.5 .. -2
    steps: int = ROOT_STEPS  # effective training steps
    full: bool = False  # training scheme: LoRA (False) or full fine-tuning (True)

    def clipped(self) -> SimConfig:
        return SimConfig(
            data_level=int(min(4, max(0, self.data_level))),
            synth_ratio=float(min(1.0, max(0.0, self.synth_ratio))),
            log_lr=float(min(-2.0, max(-6.5, self.log_lr))),
            steps=int(min(MAX_STEPS * 2, max(MIN_STEPS, round(self.steps)))),
            full=bool(self.full),
        )

    def params(self) -> dict:
        return {
            "log_lr": self.log_lr,
            "data_level": self.data_level,
            "synth_ratio": self.synth_ratio,
            "full": self.full,
        }

    @staticmethod
    def of(params: dict) -> SimConfig:
        return SimConfig(
            params["data_level"], params["synth_ratio"], params["log_lr"], params["max_steps"], params["full"]
        ).clipped()


class Landscape:
    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.base = rng.uniform(0.3, 0.55)
        self.train_height = rng.uniform(0.12, 0.3)
        self.lr_opt = rng.uniform(-4.5, -3.0)
        self.lr_width = rng.uniform(0.35, 0.8)
        self.log_steps_opt = rng.uniform(math.log10(150), math.log10(1200))
        self.under_width = rng.uniform(0.35, 0.6)  # decades of steps: undertraining ...
        self.over_width = rng.uniform(0.6, 1.2)  # ... and the milder overfitting
        self.lr_speed = rng.uniform(0.4, 1.0)  # a decade more learning rate is worth this many decades of steps
        self.warm_keep = rng.uniform(0.6, 1.0)
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

    @classmethod
    def calibrated(cls, fit: dict[str, float], noise_sd: float) -> Landscape:
        """A landscape whose learning curve is a fit to real runs (``benchmarks/calibrate_sim.py``'s ``params``):
        the levers those runs never moved (cleaning, synthetic data, the scheme) have no effect, no run fails, and
        a warm start keeps all its parent's steps (as the fit counts them). Rank and balance are not levers here."""
        landscape = cls(0)
        landscape.base, landscape.train_height = fit["base"], fit["height"]
        for name in ("lr_opt", "lr_width", "log_steps_opt", "under_width", "over_width", "lr_speed"):
            setattr(landscape, name, fit[name])
        landscape.data_a = landscape.data_b = landscape.synth_height = landscape.full_gain = 0.0
        landscape.full_lr_shift, landscape.warm_keep, landscape.fail_base = 0.0, 1.0, 0.0
        landscape.noise_sd = noise_sd
        return landscape

    def true_score(self, cfg: SimConfig) -> float:
        lr_opt = self.lr_opt - self.full_lr_shift * cfg.full
        height = max(0.02, self.train_height + self.full_gain * cfg.full)
        progress = math.log10(cfg.steps) + self.lr_speed * (cfg.log_lr - lr_opt) - self.log_steps_opt
        width = self.under_width if progress < 0 else self.over_width
        train = height * math.exp(-(((cfg.log_lr - lr_opt) / self.lr_width) ** 2) - (progress / width) ** 2)
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

    def warm(self, parent_steps: int, own_steps: int) -> int:
        """Effective steps of a run that continues a parent trained for ``parent_steps``."""
        return round(self.warm_keep * parent_steps + own_steps)

    def optimum(self) -> float:
        """The best true score: the training term peaks at the scheme's rate optimum and ``log_steps_opt``
        (inside the bounds) and is separable from the data and synthetic terms, maximized on a fine grid."""
        if self._optimum is None:
            steps = round(10**self.log_steps_opt)
            self._optimum = max(
                self.true_score(SimConfig(level, float(s), self.lr_opt - self.full_lr_shift * full, steps, full))
                for level in range(5)
                for s in np.linspace(0.0, 1.0, 201)
                for full in (False, True)
            )
        return self._optimum


class Ledger:
    """What a search spent (configs, training steps) and the best config it observed; the budget's keeper."""

    def __init__(self, landscape: Landscape, rng: random.Random, budget: str, configs: int, steps: int) -> None:
        self.landscape, self.rng, self.budget = landscape, rng, budget
        self.max_configs, self.max_steps = configs, steps
        self.configs, self.steps = 0, 0
        self.best_obs, self.best_true = -1.0, 0.0

    def affords(self, cost: int, new_config: bool = True) -> bool:
        if self.budget == "configs":
            return not new_config or self.configs < self.max_configs
        return self.steps + cost <= self.max_steps

    def exhausted(self) -> bool:
        return not self.affords(MIN_STEPS)

    def run(self, cfg: SimConfig, cost: int, new_config: bool = True) -> float | None:
        """Train ``cost`` steps to reach ``cfg`` and evaluate it (counted as a new config or a promotion)."""
        self.steps += cost
        self.configs += new_config
        score = self.landscape.evaluate(cfg, self.rng)
        if score is not None and score > self.best_obs:
            self.best_obs, self.best_true = score, self.landscape.true_score(cfg)
        return score


@dataclass
class Move:
    cfg: SimConfig  # the full-length target
    parent_steps: int = 0  # effective steps of the warm start's parent (0: from scratch)
    probe: bool = False


@dataclass
class Researcher:
    """The simulated trex researcher: surrogate proposals, local moves, warm starts, probes."""

    landscape: Landscape
    surrogate: Surrogate
    rng: random.Random
    probes: list[float] = field(default_factory=list)
    mode: str = "fixed"
    use_probes: bool = True  # new directions as cheap probes (False: every move at full length, the ablation)
    seen: list[Observation] = field(default_factory=list)

    def _fitted(self, best: SimConfig) -> tuple[Surrogate, bool]:
        """The surrogate to ask, and whether it is the tree's own (its asks may be held). Below ``TRUST_UNTIL``
        finished observations, as trex's ``propose_configs``: a fresh one on the trust region around ``best``
        (rate x1/4..x4, steps x1/2..x4), fitted on every observation, whose proposals are not held."""
        if sum(o.score is not None for o in self.seen) >= TRUST_UNTIL:
            return self.surrogate, True
        shift = math.log10(TRUST_RATE)
        region = SPACE.within(
            {
                "log_lr": (best.log_lr - shift, best.log_lr + shift),
                "max_steps": (best.steps * TRUST_STEPS[0], best.steps * TRUST_STEPS[1]),
            }
        )
        local = Surrogate(region, self.rng.randrange(2**32))
        for observation in self.seen:
            local.tell(observation)
        return local, False

    def far(self, cfg: SimConfig, best: SimConfig) -> bool:
        return (
            cfg.full != best.full
            or abs(cfg.log_lr - best.log_lr) > FAR_LOG_LR
            or abs(cfg.data_level - best.data_level) > 1
        )

    def continued(self, cfg: SimConfig, best: SimConfig, own: int) -> Move:
        """``cfg`` as a warm start from ``best`` when the scheme matches, else from scratch at its own steps."""
        if cfg.full != best.full:
            return Move(cfg)
        return Move(replace(cfg, steps=self.landscape.warm(best.steps, own)).clipped(), parent_steps=best.steps)

    def plan(
        self,
        strategy: str,
        best: SimConfig,
        k: int,
        hold: list[int] | None = None,
        taken: list[SimConfig] | None = None,
    ) -> list[Move]:
        """``k`` moves from ``best``; ``hold`` keeps the surrogate's proposals pending until released (nodes in
        flight, see ``Surrogate.ask``). ``taken``: the configs of siblings still in flight (planned from the same
        parent, results not in); the local moves then take the nearest offsets that none of them took and that
        stay inside the bounds, and the idea move another rate prior (None, nothing in flight: the fixed offsets
        +-1, +-2, ..., as one node at a time plans)."""
        rng, moves = self.rng, []
        surrogate, own_study = self._fitted(best)
        hold = hold if own_study else None
        if self.mode in ("both", "global"):
            proposal = SimConfig.of(surrogate.ask(1, hold=hold)[0])
            moves.append(Move(proposal, probe=self.far(proposal, best)))
        if self.mode in ("both", "fixed"):
            levers = {"refine_data": ("data_level",), "synthetic_data": ("synth_ratio",)}.get(strategy, ("log_lr",))
            fixed = {name: value for name, value in best.params().items() if name not in levers}
            numbers = SimConfig.of(surrogate.ask(1, fixed=fixed, hold=hold)[0])
            own = max(MIN_STEPS, numbers.steps - best.steps)
            moves.append(self.continued(numbers, best, own) if numbers.steps > best.steps else Move(numbers))
        local = k - len(moves)
        spread = _Spread(best, taken) if taken is not None else None
        for i in range(local):
            step = (i // 2 + 1) * (1 if i % 2 == 0 else -1)
            own = max(MIN_STEPS, round(best.steps * rng.choice((0.25, 0.5))))
            if strategy == "refine_data":
                level = spread.level() if spread else best.data_level + step
                moves.append(self.continued(replace(best, data_level=level), best, own))
            elif strategy == "synthetic_data":
                ratio = spread.ratio() if spread else best.synth_ratio + 0.12 * step
                ratio += rng.uniform(-0.03, 0.03)
                moves.append(self.continued(replace(best, synth_ratio=ratio).clipped(), best, own))
            elif i == local - 1 and local >= 2:  # an idea move: the other training scheme, with a prior on its rate
                lr = best.log_lr + (1.0 if best.full else -1.0) + (spread.idea_shift() if spread else 0.0)
                moves.append(Move(replace(best, full=not best.full, log_lr=lr).clipped(), probe=True))
            elif i % 2 == 0:  # train longer from the parent's weights
                moves.append(self.continued(best, best, own))
            else:
                shift = spread.lr_shift() if spread else 0.3 * step
                lr = best.log_lr + shift + rng.uniform(-0.05, 0.05)
                moves.append(
                    Move(replace(best, log_lr=lr, steps=round(best.steps * 1.3 ** rng.choice([-1, 1]))).clipped())
                )
        return moves[:k]

    def promote(self, score: float | None) -> bool:
        """ASHA's rule, trex's own (``trex.agents.probes.promoted``): a probe goes on to full length when it is in
        the top 1/ETA of all probes so far."""
        if score is None:
            return False
        goes_on = promoted(score, self.probes)
        self.probes.append(score)
        return goes_on

    def execute(self, move: Move, ledger: Ledger) -> tuple[float | None, SimConfig, bool] | None:
        """Run one move within the budget: (score, config reached, at full length), or None when the budget
        cannot pay for it."""
        own = move.cfg.steps - (round(self.landscape.warm_keep * move.parent_steps) if move.parent_steps else 0)
        if move.probe and self.use_probes:
            probe = replace(move.cfg, steps=max(MIN_STEPS, move.cfg.steps // ETA))
            if not ledger.affords(probe.steps):
                return None
            score = ledger.run(probe, probe.steps)
            self.tell(probe, score)
            if not self.promote(score) or not ledger.affords(move.cfg.steps - probe.steps, new_config=False):
                return score, probe, False
            own, ledger_new = move.cfg.steps - probe.steps, False
        else:
            own, ledger_new = max(MIN_STEPS, own), True
            if not ledger.affords(own):
                return None
        score = ledger.run(move.cfg, own, new_config=ledger_new)
        self.tell(move.cfg, score)
        return score, move.cfg, True

    def tell(self, cfg: SimConfig, score: float | None) -> None:
        observation = Observation(params=cfg.params(), score=score, steps=cfg.steps)
        self.seen.append(observation)
        self.surrogate.tell(observation)


class _Spread:
    """The next offsets of a parent's local moves that no sibling in flight has taken (``Researcher.plan``)."""

    def __init__(self, best: SimConfig, taken: list[SimConfig]) -> None:
        self.best = best
        self.levels = [t.data_level for t in taken]
        self.ratios = [t.synth_ratio for t in taken]
        self.rates = [t.log_lr - best.log_lr for t in taken if t.full == best.full]
        self.ideas = sum(t.full != best.full for t in taken)
        self.used: list[float] = []

    def _next(self, unit: float, limit: tuple[float, float], near: list[float], base: float) -> float:
        for size in range(1, 9):
            for sign in (1, -1):
                value = base + sign * size * unit
                if not limit[0] <= value <= limit[1]:
                    continue
                if all(abs(value - other) > unit / 2 for other in near + self.used):
                    self.used.append(value)
                    return value
        return base + unit

    def level(self) -> int:
        return round(self._next(1, (0, 4), [float(v) for v in self.levels], self.best.data_level))

    def ratio(self) -> float:
        return self._next(0.12, (0.0, 1.0), self.ratios, self.best.synth_ratio)

    def lr_shift(self) -> float:
        return self._next(0.3, (-6.5 - self.best.log_lr, -2.0 - self.best.log_lr), self.rates, 0.0)

    def idea_shift(self) -> float:
        """The other scheme's rate prior, moved half a decade further each time it was already planned here."""
        return (0.0, -0.5, 0.5, -1.0, 1.0)[min(self.ideas, 4)]


def root_configs(k: int) -> list[SimConfig]:
    return [SimConfig(log_lr=lr) for lr in (-4.0, -3.5, -4.5, -3.0, -5.0)[:k]]


def simulate_tree(
    landscape: Landscape,
    policy_name: str,
    ledger: Ledger,
    k: int,
    seed: int,
    c: float = DEFAULT_C,
    max_children: int = 4,
    failure: str | None = None,
    mode: str = "fixed",
    probes: bool = True,
) -> Ledger:
    """Grow a tree with the given policy on one landscape until the ledger's budget is spent."""
    rng = random.Random(seed)
    policy = make_policy(policy_name, c, floor=landscape.noise_sd)
    researcher = Researcher(landscape, Surrogate(SPACE, seed), rng, mode=mode, use_probes=probes)
    tree, best_cfg, tried = Tree(), {}, {}
    while not ledger.exhausted():
        node_id = len(tree) + 1
        if node_id == 1:
            parent, strategy, moves = None, "establish_baseline", [Move(cfg) for cfg in root_configs(k)]
        else:
            candidates = expandable(tree, max_children)
            if not candidates:
                break
            parent = policy.select(tree, candidates, rng).node_id
            options = [s for s in STRATEGIES if s not in tried.setdefault(parent, [])] or list(STRATEGIES)
            strategy = rng.choice(options)
            tried[parent].append(strategy)
            moves = researcher.plan(strategy, best_cfg[parent], k)
        results = [r for r in (researcher.execute(m, ledger) for m in moves) if r is not None]
        if not results:
            break
        node = tree.add(Node(node_id, parent, 0 if parent is None else tree.nodes[parent].depth + 1, strategy))
        ok = [(s, cfg, full) for s, cfg, full in results if s is not None]
        if ok:  # the node's best config is its best full-length run (a probe only when nothing else finished)
            score, cfg, _ = max(ok, key=lambda item: (item[2], item[0]))
            node.status, node.val_score, node.reward = DONE, score, score
            best_cfg[node_id] = cfg
        else:
            node.status, node.reward = FAILED, 0.0
        backpropagate(tree, node_id, node.reward or 0.0, **({"failure": failure} if failure else {}))
    return ledger
