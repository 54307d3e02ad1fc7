"""Knobs of the GMN/APoE chapter (Lim et al., NeurIPS 2019) and its three profiles.

Claim rules (criteria, instrument checks, seeds) are module constants, fixed before any run of the chapter.
"""


import dataclasses
import math

from sensorimotor.claims import AtLeast, AtMost, Rule
from sensorimotor.profiles import ChapterConfig, ConfigError, Profiles

# ----------------------------------------------------------------------------------------------------
# Claim rules (written before running; never tuned afterwards)
# ----------------------------------------------------------------------------------------------------
# Instrument check "the models use their context" (two parts, for every compared model and one image
# and one haptic target modality):
# (1) per seed, the log-likelihood of test targets with CONTEXT_GAIN_VIEWS same-modality context pairs
#     minus with none (paired per test scene, nats per target pair; the Fig. 3 estimate with no
#     source-modality context), as its lower confidence bound mean - CONTEXT_GAIN_SE standard errors over
#     test scenes, must reach CONTEXT_GAIN_NATS in every seed: the context makes the targets at least e^10
#     times more likely, three standard errors clear of that. Chosen before seeing any gain larger than
#     ~1 nat (the first pass: 1.0-1.1 nats of ~2700 for two extra images).
# (2) the gain must be at least CONTEXT_SEED_RATIO times its seed noise: mean over training seeds divided
#     by the standard deviation over seeds (issue 14; fixed before the second pass's pilot).
CONTEXT_GAIN_NATS = 10.0
CONTEXT_GAIN_SE = 3.0
CONTEXT_GAIN_VIEWS = 2
CONTEXT_GAIN = AtLeast(CONTEXT_GAIN_NATS, over_seeds="every-seed")
# The chapter passes both per-seed checks (this one and ABOVE_CHANCE) as their lowest seed's value: the same
# rule ("in every seed" holds exactly when the lowest seed passes), and the verdict box shows the value it
# judges (for a per-seed value it would show the mean over seeds).
# (1') Haptic targets (third pass, fixed before its run, after measuring what the scenes' grasps can carry,
#     never from a model's haptic values): a grasp depends only on the object's shape, and the generator
#     draws 5-cube shapes from a set of 315 (H(shape) = 5.69 nats). A model can then expect to gain at most
#     H(shape) nats on its targets together over no context, H(shape) / 5 = 1.14 nats per target pair on
#     the check's 5 targets; the Bayes observer that knows the shape set (sensorimotor.gmn.haptic_oracle)
#     gains 1.1 from 2 grasps. So the 10-nat bar was out of reach of any model, and a gain above the bound
#     only shows a poor prediction without context (the eq. 2 view gained +9 to +24 in the second pass). On
#     haptic targets the check therefore compares a scene's own 2 grasps with 2 grasps of another scene, on
#     the same targets (evaluation.other_scene_gap: zero when the context is ignored, and both sides have
#     context): the lowest seed's mean - 3 SE, divided by the observer's gap on the same protocol (measured
#     in the chapter), must reach HAPTIC_OBSERVER_FRACTION: three standard errors clear of half of what an
#     ideal observer makes of the grasps. Check (2) on haptics uses the same gap.
HAPTIC_OBSERVER_FRACTION = 0.5
HAPTIC_CONTEXT_GAIN = AtLeast(HAPTIC_OBSERVER_FRACTION, over_seeds="every-seed")
CONTEXT_SEED_RATIO = 3.0
CONTEXT_OVER_SEED_NOISE = AtLeast(CONTEXT_SEED_RATIO, over_seeds="mean")  # the value is already a ratio over seeds
# Instrument check "classification above chance" (Fig. 4): each model's accuracy with each context kind
# (I, H, H+I) at the largest context count, in binomial standard errors above chance 1/k:
# (acc - 1/k) / sqrt((1/k)(1 - 1/k) / trials) >= 3, in every seed.
ABOVE_CHANCE_SE = 3.0
ABOVE_CHANCE = AtLeast(ABOVE_CHANCE_SE, over_seeds="every-seed")
# Instrument check for Fig. 4's H column (sixth pass, fixed before its run; the observer's accuracy was
# measured on 4 groups in the fifth pass, 0.95 from 1 and 5 grasp contexts): the Bayes observer that knows
# the shape set (shape_probe.bayes_group_classification, grasp targets only, its own view draws) must
# classify the same groups from grasp contexts at the largest count, in the same standard errors above
# chance (eighth pass: on the first `classify_bayes_groups` groups, 4 of 10 at `default`, for the hour; it scored
# 0.95 / 0.95 on all 10). It shows that the grasps tell the candidate scenes apart, i.e. that the H column could show the
# effect with models that read them; it is not trained (no seeds).
BAYES_CHANCE_CHECK = "Bayes observer (knows the shapes) H accuracy above chance (SE)"
SEED_NOTE = (
    "Three training seeds per model at the default profile (seeds seed, seed+1, seed+2; `-p n_seeds=N` trains more)."
)
MISSING_SEED_NOTE = (
    "Three training seeds per eight-modality model at the default profile (seeds seed, seed+1, seed+2; "
    "`-p missing_seeds=N` trains more)."
)


def is_haptic(modality: str) -> bool:
    """Whether a check's modality label (``M2_MODALITIES``, ``M8_MODALITIES``) names haptic targets."""
    return modality.startswith("haptics")


def context_check(model: str, modality: str) -> str:
    """The name of the context-use check (1) for ``model`` (e.g. "APoE") on ``modality`` targets ((1') on haptics)."""
    if is_haptic(modality):
        return (f"{model} {modality} own-over-other-scene context gap − {CONTEXT_GAIN_SE:g} SE over the Bayes "
                "observer's, lowest seed")  # fmt: skip
    return f"{model} {modality} context gain − {CONTEXT_GAIN_SE:g} SE, lowest seed (nats)"


def seed_noise_check(model: str, modality: str) -> str:
    """The name of the context-use check (2): the gain (the gap on haptics) over its seed standard deviation."""
    if is_haptic(modality):
        return f"{model} {modality} context gap / seed sd"
    return f"{model} {modality} context gain / seed sd"


def chance_check(model: str, context: str) -> str:
    """The name of the above-chance check for ``model`` classifying with ``context`` (I, H, H+I)."""
    return f"{model} {context} accuracy above chance, lowest seed (SE)"


def context_checks(models: tuple[str, ...], modalities) -> dict:
    """Both context-use checks for every model and target modality."""
    out = {}
    for m in models:
        for mod in modalities:
            out[context_check(m, mod)] = HAPTIC_CONTEXT_GAIN if is_haptic(mod) else CONTEXT_GAIN
            out[seed_noise_check(m, mod)] = CONTEXT_OVER_SEED_NOISE
    return out


EQ2 = "APoE (eq. 2)"  # the same trained APoE, its product over the context modalities and N(0, I) (test time)
M2_MODELS = ("baseline", "APoE")
M2_MODALITIES = ("image", "haptics")  # M = 2 modalities: whole image, whole hand
M8_MODALITIES = {"image (left R)": "image_left_r", "haptics (a)": "haptic_a"}  # M = 8: one image, one haptic modality
CLASSIFY_CONTEXTS = ("I", "H", "H+I")
M2_CONTEXT_CHECKS = context_checks(M2_MODELS, M2_MODALITIES)
M2_EQ2_CONTEXT_CHECKS = context_checks(("baseline", EQ2), M2_MODALITIES)
M8_CONTEXT_CHECKS = context_checks(M2_MODELS, M8_MODALITIES)
M8_EQ2_CONTEXT_CHECKS = context_checks(("baseline", EQ2), M8_MODALITIES)

# Fig. 3: fraction of the curve points (3 panels x context counts x extra-context lines) where APoE
# assigns a higher log-likelihood to the targets than the baseline, per seed. Paper: every point. The
# partly bar was 0.5, what a coin flip scores; raised just above it to 0.55.
FIG3_APOE_WINS = Rule(AtLeast(0.8, partly=0.55), checks=M2_CONTEXT_CHECKS, min_seeds=3, seed_note=SEED_NOTE)
# The same for the paper's eq. 2 product (the trained APoE's experts of the context modalities only).
FIG3_EQ2_WINS = Rule(AtLeast(0.8, partly=0.55), checks=M2_EQ2_CONTEXT_CHECKS, min_seeds=3, seed_note=SEED_NOTE)
# Fig. 1: haptic contexts give the sampled images the object's shape: silhouette IoU with one image +
# all haptic contexts minus IoU with the one image alone (mean over test scenes, views, samples).
# Checks (added in the second pass, before the run that judged it; they can only make the verdict
# inconclusive): APoE's context-use checks on image and haptic targets, the model the claim is about.
FIG1_IOU_GAIN = Rule(AtLeast(0.05, partly=0.02), checks=context_checks(("APoE",), M2_MODALITIES), min_seeds=3,
                     seed_note=SEED_NOTE)
# Fig. 4: mean accuracy gain of APoE over the baseline over the three context kinds (I, H, H+I) and
# all context counts. Paper: APoE above the baseline everywhere. The partly bar was 0.0, what two
# equal models score; raised just above it to 0.01.
FIG4_ACCURACY_GAIN = Rule(
    AtLeast(0.03, partly=0.01),
    checks={**M2_CONTEXT_CHECKS, **{chance_check(m, c): ABOVE_CHANCE for m in M2_MODELS for c in CLASSIFY_CONTEXTS},
            BAYES_CHANCE_CHECK: ABOVE_CHANCE},
    min_seeds=3, seed_note=SEED_NOTE,
)  # fmt: skip
FIG4_EQ2_ACCURACY_GAIN = Rule(
    AtLeast(0.03, partly=0.01),
    checks={**M2_EQ2_CONTEXT_CHECKS,
            **{chance_check(m, c): ABOVE_CHANCE for m in ("baseline", EQ2) for c in CLASSIFY_CONTEXTS},
            BAYES_CHANCE_CHECK: ABOVE_CHANCE},
    min_seeds=3, seed_note=SEED_NOTE,
)  # fmt: skip
# Fig. 5: the paper's effect is the baseline's generalisation gap (val_full - val_missing, negative ELBO
# in nats per target dimension) growing over training while APoE's does not. Value: the growth of the
# gap over the run (least-squares slope of the gap against the fraction of training, over the
# evaluations after step 0) of the baseline minus that of APoE. First pass: the gap difference at the last
# step, with the same bars (0.05; partly 0.01, raised from 0.0, what two equal models score). The checks
# are those of the setting's own M = 8 models.
FIG5_GAP_DIFFERENCE = Rule(AtLeast(0.05, partly=0.01), checks=M8_CONTEXT_CHECKS, min_seeds=3, seed_note=MISSING_SEED_NOTE)
FIG5_EQ2_GAP_DIFFERENCE = Rule(
    AtLeast(0.05, partly=0.01), checks=M8_EQ2_CONTEXT_CHECKS, min_seeds=3, seed_note=MISSING_SEED_NOTE
)
# Space: largest relative deviation of our paper-architecture parameter counts from the paper's
# (PoE/APoE for M = 5 and 14: 53M/29M and 131M/51M). True by construction (the architecture was built
# to the authors' code, and a unit test enforces the counts): a consistency check, not a result.
SPACE_PARAM_DEVIATION = Rule(AtMost(0.10, partly=0.25), kind="consistency")
# Time: PoE / APoE time per training iteration at M = 14 (paper: 2059 / 1189 ms = 1.73; 1.16 at M = 5).
# Measured, not trained (no seeds); 1.0 is what equal speed scores, the partly bar 1.05 is above it.
# The value is the ratio of the median times over `spacetime_repeats` alternated iterations. Instrument check
# (eighth pass, fixed before its run, after the cold runs of the old protocol, median of 3 iterations, had
# measured 1.27, 1.49, 1.77 and 1.34 for the same code): the 95% bootstrap interval of the ratio (paired
# repeats resampled) must be narrower than the distance between the two bars, i.e. its half-width at most
# half of it, so that timing noise alone cannot move the verdict across a bar.
TIME_REPRODUCED, TIME_PARTLY = 1.3, 1.05
TIME_PRECISION_CHECK = "PoE / APoE time ratio, half-width of its 95% bootstrap interval"
TIME_RATIO_M14 = Rule(
    AtLeast(TIME_REPRODUCED, partly=TIME_PARTLY),
    checks={TIME_PRECISION_CHECK: AtMost((TIME_REPRODUCED - TIME_PARTLY) / 2)},
)

PAPER_PARAMS = {5: {"poe": 53e6, "apoe": 29e6}, 14: {"poe": 131e6, "apoe": 51e6}}  # Section 4
PAPER_TIMES_MS = {5: {"poe": 790, "apoe": 679}, 14: {"poe": 2059, "apoe": 1189}}  # Section 4
PAPER_IMAGE_SIZE = {5: 64, 14: 48}  # authors' scripts: M = 14 uses 48x48 images


@dataclasses.dataclass(frozen=True)
class GMNConfig(ChapterConfig):
    # --- scenes (MESE stand-in) --------------------------------------------------------------------
    n_train_scenes: int = 3000
    n_test_scenes: int = 128
    n_views: int = 15  # views and haptic episodes per scene (Section 4)
    image_size: int = 16
    supersample: int = 2
    n_parts: tuple[int, ...] = (5,)  # Shepard-Metzler objects with 5 parts (Section 4)
    classify_parts: tuple[int, ...] = (4, 6)  # unseen 4- and 6-part objects for classification (authors' README)
    workers: int = 2  # processes generating scenes (the scenes do not depend on it)
    train_processes: int = 2  # models trained at the same time, one per worker process (2: both cores of the machine)
    torch_threads: int = 1  # 0 = torch's default; 1 avoids OpenMP spin-wait stalls on a shared 2-core machine
    # --- model (GMNArch) -------------------------------------------------------------------------
    r_channels: int = 32
    lstm_channels: int = 32
    z_channels: int = 3
    draw_steps: int = 4
    decoder_channels: int = 16
    tower_channels: int = 32
    haptic_hidden: int = 128
    core_kernel: int = 3
    renderer_kernel: int = 3
    # --- training (M = 2 models: Fig. 1, 3, 4) ---------------------------------------------------
    n_seeds: int = 3  # training seeds per M = 2 model: seed, seed + 1, ...
    train_steps: int = 3400  # sized by the pilot (benchmarks/bench_gmn_pilot.py) and two workers to fit the hour
    batch_size: int = 8
    lr: float = 1e-3
    max_context: int = 14
    max_targets: int = 15  # targets per modality and scene: 15 = all remaining views (the authors)
    opposite: bool = True  # each batch doubled with context and target swapped (the authors' --add-opposite)
    sigma_start: float = 0.2
    sigma_end: float = 0.1
    sigma_anneal: float = 0.5
    grad_clip: float = 1.0
    # --- Fig. 3: cross-modal density estimation ----------------------------------------------------
    density_scenes: int = 100
    density_counts: tuple[int, ...] = (0, 1, 3, 7, 14)
    density_extra: tuple[int, ...] = (0, 2)  # extra target-modality contexts (0 = fully cross-modal)
    density_targets: int = 5
    eval_samples: int = 4  # importance samples of z (posterior proposal) per estimate (the authors: 50)
    observer_scenes: int = 32  # test scenes on which the Bayes haptic observer is scored (check (1'))
    eval_threads: int = 2  # torch threads for the evaluations, which run after training with the machine to themselves
    # --- Fig. 1: cross-modal generation --------------------------------------------------------------
    generation_queries: int = 6
    generation_samples: int = 3
    generation_image_contexts: int = 1
    generation_haptic_contexts: int = 15
    silhouette_scenes: int = 32
    silhouette_threshold: float = 0.1
    # --- Fig. 4: classification ------------------------------------------------------------------
    classify_groups: int = 10  # groups of classify_group_size candidates: 100 trials per cell and seed
    classify_group_size: int = 10
    classify_counts: tuple[int, ...] = (1, 5)
    classify_targets: int = 5  # held-out pairs per modality (the authors: the last 5 views)
    classify_samples: int = 4  # importance samples of the posterior per candidate (the authors: 50)
    classify_bayes_prune: float = 40.0  # the Bayes reference drops shapes this many nats below a posterior's best
    classify_bayes_groups: int = 2  # the Bayes reference classifies the first this many groups (10 -> 4 -> 2 in the eighth and ninth passes, ~25 s each)
    # --- Fig. 5: missing modalities (M = 8) --------------------------------------------------------
    missing_modalities: int = 8
    missing_seeds: int = 3
    missing_train_steps: int = 300  # 400 until the ninth pass (context gains there: < 2 nats, eq. 2 view < 8)
    missing_batch_size: int = 4
    missing_max_targets: int = 3  # targets per modality (8 modalities: 24 per scene); the authors: all remaining
    missing_mask_targets: bool = False  # False: a missing modality is hidden from the context only (the authors)
    missing_limited_sizes: tuple[int, ...] = (1, 2)  # modalities per training scene, Fig. 5(a)
    missing_opposite_sizes: tuple[int, ...] = (7, 8)  # Fig. 5(b)
    missing_eval_scenes: int = 32
    missing_eval_points: int = 4  # evaluations along training after step 0 (the last at the end)
    # --- space and time --------------------------------------------------------------------------
    spacetime_modalities: tuple[int, ...] = (5, 14)
    spacetime_batch: int = 4
    spacetime_repeats: int = 24  # alternated PoE / APoE iterations timed (3 until the eighth pass: verdicts moved between runs)

    def validate(self) -> None:
        if self.max_context >= self.n_views:
            raise ConfigError(f"max_context={self.max_context} must be below n_views={self.n_views}")
        if max(self.density_extra) + self.density_targets > self.n_views:
            raise ConfigError("density_extra + density_targets must not exceed n_views")
        if max(self.classify_counts) + self.classify_targets > self.n_views:
            raise ConfigError("classify_counts + classify_targets must not exceed n_views")
        if self.generation_image_contexts + self.generation_queries > self.n_views:
            raise ConfigError("generation_image_contexts + generation_queries must not exceed n_views")
        if 0 not in self.density_counts or not {0, CONTEXT_GAIN_VIEWS} <= set(self.density_extra):
            raise ConfigError(
                f"density_counts must include 0 and density_extra must include 0 and {CONTEXT_GAIN_VIEWS} (the "
                f"context-use check), got {self.density_counts} and {self.density_extra}"
            )
        if self.image_size % 8:
            raise ConfigError(f"image_size must be a multiple of 8, got {self.image_size}")
        if self.density_scenes < 2 or self.missing_eval_scenes < 2:
            raise ConfigError(f"density_scenes={self.density_scenes} and missing_eval_scenes={self.missing_eval_scenes} must "
                              "be >= 2 (paired gains need a standard error; the other-scene gap needs another scene)")
        if not 2 <= self.observer_scenes <= self.n_test_scenes:
            raise ConfigError(f"observer_scenes={self.observer_scenes} must be in [2, n_test_scenes={self.n_test_scenes}]")
        if not (math.isfinite(self.classify_bayes_prune) and self.classify_bayes_prune > 0):
            raise ConfigError(f"classify_bayes_prune={self.classify_bayes_prune} must be a finite number of nats > 0")
        if not 1 <= self.classify_bayes_groups <= self.classify_groups:
            raise ConfigError(f"classify_bayes_groups={self.classify_bayes_groups} must be in [1, classify_groups={self.classify_groups}]")
        if self.spacetime_repeats < 2:
            raise ConfigError(f"spacetime_repeats={self.spacetime_repeats} must be >= 2 (the time ratio's interval needs pairs)")
        if self.eval_threads < 0:
            raise ConfigError(f"eval_threads={self.eval_threads} must be >= 0 (0 = torch's default)")
        for name in ("n_seeds", "missing_seeds", "classify_samples", "eval_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.density_scenes > self.n_test_scenes or self.missing_eval_scenes > self.n_test_scenes:
            raise ConfigError(
                f"density_scenes={self.density_scenes} and missing_eval_scenes={self.missing_eval_scenes} must not "
                f"exceed n_test_scenes={self.n_test_scenes}"
            )

    def arch_dict(self) -> dict[str, int]:
        names = ("r_channels", "lstm_channels", "z_channels", "draw_steps", "decoder_channels", "tower_channels",
                 "haptic_hidden", "core_kernel", "renderer_kernel")  # fmt: skip
        return {n: getattr(self, n) for n in names}

    def train_spec(self, seed: int, **changes):
        """The M = 2 models' training knobs as a ``sensorimotor.gmn.training.TrainSpec`` (``changes`` replace fields)."""
        from sensorimotor.gmn.training import TrainSpec  # torch: imported only when a model is trained

        spec = TrainSpec(
            steps=self.train_steps, batch_size=self.batch_size, lr=self.lr, max_context=self.max_context,
            max_targets=self.max_targets, sigma_start=self.sigma_start, sigma_end=self.sigma_end,
            sigma_anneal=self.sigma_anneal, grad_clip=self.grad_clip, seed=seed, opposite=self.opposite,
        )  # fmt: skip
        return dataclasses.replace(spec, **changes)

    def seeds(self) -> list[int]:
        """The training seeds of the M = 2 models."""
        return [self.seed + i for i in range(self.n_seeds)]

    def missing_seed_list(self) -> list[int]:
        """The training seeds of the M = 8 models."""
        return [self.seed + i for i in range(self.missing_seeds)]


PAPER_ARCH = dict(  # authors' code, model "v4" (Appendix B): nc_context, nc_lstm, nz, steps, nc_enc, tower, haptic
    r_channels=256, lstm_channels=64, z_channels=3, draw_steps=12, decoder_channels=32, tower_channels=256,
    haptic_hidden=512, core_kernel=5, renderer_kernel=5,
)  # fmt: skip

PROFILES = Profiles(
    smoke=GMNConfig(
        n_train_scenes=48, n_test_scenes=16, workers=1, image_size=16, r_channels=8, lstm_channels=8, z_channels=2, missing_seeds=1,
        draw_steps=2, decoder_channels=4, tower_channels=8, haptic_hidden=16, n_seeds=1, train_steps=6, batch_size=4,
        max_targets=2, missing_max_targets=2, missing_batch_size=2, density_scenes=4, density_counts=(0, 4),
        density_extra=(0, 2), eval_samples=2, observer_scenes=2, eval_threads=1, generation_queries=3, generation_samples=2, silhouette_scenes=3,
        classify_groups=1, classify_bayes_groups=1, classify_group_size=4, classify_counts=(1, 4), classify_targets=2, classify_samples=2,
        missing_train_steps=4, missing_eval_scenes=4, missing_eval_points=2, spacetime_batch=2, spacetime_repeats=2,
    ),  # fmt: skip
    default=GMNConfig(),
    paper=GMNConfig(
        n_train_scenes=100_000,  # MESE's scene count is not given in the paper; GQN-scale guess
        n_test_scenes=1000,
        torch_threads=0,
        image_size=64,  # Section 4: 64x64 RGB images
        **PAPER_ARCH,
        train_steps=83_334,  # authors' scripts: 10 epochs, batch 12 (83k steps at 100k scenes)
        batch_size=12,
        lr=1e-4,  # authors' scripts: --lr 0.0001 --clip 0.25 --add-opposite
        grad_clip=0.25,
        max_targets=15,  # all remaining views are targets
        opposite=True,
        sigma_start=1.0,  # authors' scripts leave the likelihood's std at the model's default, 1.0 (no annealing)
        sigma_end=1.0,
        sigma_anneal=1.0,
        density_scenes=1000,
        density_counts=tuple(range(16)),
        density_extra=(0, 1, 2, 5),
        eval_samples=50,  # authors' evaluation scripts: 50 z samples
        observer_scenes=200,
        eval_threads=0,
        silhouette_scenes=200,
        classify_groups=100,
        classify_bayes_groups=10,
        classify_counts=(1, 2, 3, 4, 5),  # authors' script: 0..5 contexts
        classify_targets=5,  # authors' script: the last 5 views of each modality
        classify_samples=50,
        missing_seeds=3,
        missing_train_steps=83_334,
        missing_batch_size=12,
        missing_max_targets=15,
        missing_eval_scenes=1000,
        missing_eval_points=10,
        spacetime_batch=12,
        spacetime_repeats=24,
    ),
)


def gmn_config(profile: str = "default", **overrides) -> GMNConfig:
    """The chapter's config for ``profile`` with ``overrides`` applied (unknown keys raise ConfigError)."""
    return PROFILES.get(profile, **overrides)
