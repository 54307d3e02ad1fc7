"""Knobs of the mirror-alignment chapter (Zhu et al., ICCV 2025) and its claims' criteria.

Everything the chapter runs is sized here; the criteria below were written before the first run.
Paper values cite the paper's section (arXiv 2509.21136): Sec. 3 (method), Sec. 4 (experiments).
"""

from dataclasses import dataclass

from sensorimotor.claims import AtLeast, IsTrue, Rule
from sensorimotor.mirror_align.tasks import TASKS, check_task
from sensorimotor.profiles import ChapterConfig, ConfigError, Profiles


@dataclass(frozen=True)
class MirrorAlignConfig(ChapterConfig):
    # -- task suite and demonstrations (paper: 18 RLBench tasks, 100 demos per task; Sec. 4)
    tasks: tuple[str, ...] = TASKS
    n_train_per_instruction: int = 6  # expert demonstrations of each instruction (training)
    n_test_per_instruction: int = 2  # held-out episodes of each instruction (recognition, probing)
    n_eval_per_task: int = 2  # closed-loop episodes per task and model (held-out layouts)
    n_steps: int = 36  # decision steps per episode (0.1 s each)
    video_frames: int = 6  # observer-video frames (ViCLIP: 8)
    image_size: int = 48  # robot camera (ARP/RVT: 5 virtual views at 224x224)
    video_size: int = 48  # observer camera (ViCLIP: 224x224)
    # -- models
    width: int = 64  # size of u and e (ViCLIP: 768, ARP: 512)
    embed_dim: int = 64  # U's video-text space (ViCLIP: 512)
    u_channels: tuple[int, ...] = (16, 32, 64, 64)
    e_channels: tuple[int, ...] = (16, 32, 32)
    e_strides: tuple[int, ...] = (2, 2, 1)
    chunk: int = 4  # actions predicted autoregressively per call
    execute: int = 2  # actions executed before predicting again
    shared_dim: int = 1024  # Sec. 3.2: shared space Z in R^1024
    # -- training
    batch_size: int = 32
    steps_per_episode: int = 2  # time steps of each execution episode per batch (E's loss and e)
    pretrain_steps: int = 800  # independent training of U and E (the probed models, the baselines' start)
    pretrain_lr: float = 1e-3
    finetune_steps: int = 120  # joint training with / without alignment, from the pretrained models
    finetune_lr: float = 3e-4
    align_lr: float = 1e-4  # Sec. 4: learning rate of the alignment layers
    lambda_ee: float = 1.0  # Sec. 3.3: lambda_EE = 1
    lambda_align: float = 0.5  # Sec. 3.3: lambda_align = 0.5
    tau: float = 0.1  # Sec. 4: tau = 0.1
    level: str = "instruction"  # Sec. 4.4: positives by instruction (the paper's default)
    shift: int = 2  # random-shift augmentation (pixels)
    probe_steps: int = 400
    probe_lr: float = 1e-3
    probe_k: int = 4  # time steps averaged into an episode's e for probing / retrieval
    n_seeds: int = 3  # seeds of the joint-training comparison (the claims need 3)
    n_ablation_seeds: int = 3  # seeds of each ablation setting (the claims need 3)
    ablation_taus: tuple[float, ...] = (0.02, 0.2)  # Sec. 4.4 / Table 3
    ablation_levels: tuple[str, ...] = ("episode", "task")  # Sec. 4.4 / Table 2
    tsne_perplexity: float = 15.0
    threads: int = 1  # torch CPU threads (1: reproducible, and robust on a shared machine); 0 = torch's default

    def validate(self) -> None:
        for task in self.tasks:
            try:
                check_task(task)
            except ValueError as error:
                raise ConfigError(str(error)) from None
        if self.execute > self.chunk:
            raise ConfigError(f"execute={self.execute} must be <= chunk={self.chunk}")
        if self.level not in ("episode", "instruction", "task"):
            raise ConfigError(f"level={self.level!r}; accepted: episode, instruction, task")
        if self.n_seeds < 1 or self.n_ablation_seeds < 1:
            raise ConfigError("n_seeds and n_ablation_seeds must be >= 1")


# -- claims' rules (fixed before running) --------------------------------------------------------------
# Seeds: every trained claim needs 3. A "seed" here is a joint-training seed (its batches, the probe's
# initialisation); all seeds start from the one independently trained U and E of the run's `seed`, so the
# spread does not include the pretraining's own variance.
SEED_NOTE = (
    "seeds are joint-training seeds (batches, probe initialisation) from one independently trained U and E; "
    "`default` and `paper` run 3, `smoke` runs 1 (its verdicts are then inconclusive); seeds with their own "
    "pretrained U and E would also measure the pretraining's variance"
)
# Instrument check of every success-rate claim: the policy E must succeed often enough that success rates
# can differ at all (issue 15's bar: held-out success >= 50 %). Its value is the mean held-out closed-loop
# success (fraction) of the E's the claim compares, pooled over tasks and seeds (hence over_seeds="mean").
E_SUCCEEDS = "E's held-out success rate"
SUCCESS_CHECKS = {E_SUCCEEDS: AtLeast(0.5, over_seeds="mean")}

# Probing (Sec. 4.2): Recall@1 of instruction-level retrieval on held-out pairs; paper: above 60 %.
# Checks: the trained probe must beat the same probe on randomly initialised U and E, and chance, by at
# least one held-out video retrieved right (Recall@1 differences times the number of held-out videos;
# at `default` the random-init probe scores about 0.09 and chance 0.036, far below the partly bar 0.3).
PROBE_BEATS_RANDOM = "held-out videos retrieved right beyond the random-init probe"
PROBE_BEATS_CHANCE = "held-out videos retrieved right beyond chance"
PROBE_RECALL = Rule(
    AtLeast(0.6, partly=0.3),
    checks={PROBE_BEATS_RANDOM: AtLeast(1.0), PROBE_BEATS_CHANCE: AtLeast(1.0)},
    seed_note=(
        "one probe on the one independently trained U and E: probe-only seeds would not measure the "
        "pretraining's variance, and three pretrainings do not fit the default budget (issue 15)"
    ),
)
# Probing: successful executions are better aligned than failed ones (mean pair similarity higher), on the
# closed-loop rollouts of the independently trained E.
SUCCESS_ALIGNED = Rule(IsTrue(), checks=SUCCESS_CHECKS)
# Joint training (Table 1): gain of alignment over the same training without it, in percentage points,
# averaged over tasks, per seed; judged as mean - sd over seeds. Paper: +3.3 (AU), +3.5 (EE). Reproduced:
# at least 1 point; partly: above 0, the trivial "no change" answer. At `default` one held-out video is
# about 1.8 points of recognition accuracy (56 held-out videos; 1.6-2.1 points within the per-task mean).
AU_GAIN = Rule(AtLeast(1.0, partly=1e-9), min_seeds=3, seed_note=SEED_NOTE)
EE_GAIN = Rule(AtLeast(1.0, partly=1e-9), checks=SUCCESS_CHECKS, min_seeds=3, seed_note=SEED_NOTE)
# Ablations (Tables 2-3), each a yes/no per seed that must hold in every seed: instruction positives give
# the best EE success of the three levels (T2); class positives the lowest AU accuracy (T2b); tau = 0.2
# raises AU over tau = 0.1 (T3a); tau = 0.02 lowers EE success below tau = 0.1 (T3b).
INSTRUCTION_BEST_EE = Rule(IsTrue(), checks=SUCCESS_CHECKS, min_seeds=3, seed_note=SEED_NOTE)
CLASS_WORST_AU = Rule(IsTrue(), min_seeds=3, seed_note=SEED_NOTE)
TAU_RAISES_AU = Rule(IsTrue(), min_seeds=3, seed_note=SEED_NOTE)
TAU_LOWERS_EE = Rule(IsTrue(), checks=SUCCESS_CHECKS, min_seeds=3, seed_note=SEED_NOTE)
# t-SNE (Fig. 5): alignment makes the shared space more discriminative of instructions (silhouette
# score by instruction of held-out u and e in Z is higher with alignment than for the probe), per seed.
ALIGNED_MORE_DISCRIMINATIVE = Rule(IsTrue(), min_seeds=3, seed_note=SEED_NOTE)

PROFILES = Profiles(
    smoke=MirrorAlignConfig(
        tasks=("push_side", "lift", "press_button"), n_train_per_instruction=2, n_test_per_instruction=1,
        n_eval_per_task=1, pretrain_steps=20, finetune_steps=6, probe_steps=20, n_seeds=1, n_ablation_seeds=1, batch_size=16, tsne_perplexity=5.0,
    ),
    default=MirrorAlignConfig(),
    paper=MirrorAlignConfig(  # Sec. 4 where given; sizes of our stand-ins scaled up for a GPU
        n_train_per_instruction=100, n_test_per_instruction=25, n_eval_per_task=25, video_frames=8,
        image_size=128, video_size=128, width=512, embed_dim=512, u_channels=(32, 64, 128, 256, 256),
        e_channels=(32, 64, 128), pretrain_steps=50_000, finetune_steps=20_000, batch_size=64,
        n_seeds=3, n_ablation_seeds=3, device="auto", threads=0,
    ),
)


def mirror_align_config(profile: str = "default", **overrides) -> MirrorAlignConfig:
    return PROFILES.get(profile, **overrides)
