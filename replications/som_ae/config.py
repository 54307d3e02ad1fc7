"""Knobs, profiles and claim criteria of the SOM-AE chapter (Jülg et al., AMAM 2023).

The claim criteria below were written before the first `default` run and are not tuned on results.
"""

from dataclasses import dataclass

from sensorimotor.claims import AtLeast, AtMost, Rule
from sensorimotor.profiles import ChapterConfig, ConfigError, Profiles

IMAGE = "image"  # modality m1 (vision)
JOINTS = "joints"  # modality m2 (proprioception)
MAPPINGS = ((IMAGE, IMAGE), (IMAGE, JOINTS), (JOINTS, IMAGE), (JOINTS, JOINTS))
MAPPING_LABELS = {
    (IMAGE, IMAGE): "m1→m1",
    (IMAGE, JOINTS): "m1→m2",
    (JOINTS, IMAGE): "m2→m1",
    (JOINTS, JOINTS): "m2→m2",
}

# Paper, Table 1 (plain SOM, SOM-AE): mean ± std of the test MAE, costs.
PAPER_TABLE1 = {
    "batch_size": (1, 10),
    "epochs": (200, 200),
    "som_hours": (61.5, 15.5 / 60),
    "ae_hours": (0.0, 9.5),
    "gpu": ("A100 SXM4", "RTX 2080"),
    "vram_gb": (42.0, 2.6),
    "map_bytes": (10.5e9, 33.3e6),  # Section 2.3
    "overall": ((0.068, 0.077), (0.058, 0.065)),
    (IMAGE, IMAGE): ((0.025, 0.020), (0.021, 0.020)),
    (IMAGE, JOINTS): ((0.163, 0.096), (0.127, 0.087)),
    (JOINTS, IMAGE): ((0.046, 0.038), (0.041, 0.041)),
    (JOINTS, JOINTS): ((0.039, 0.021), (0.042, 0.023)),
}

# Claim rules. The criteria were fixed before the first `default` run and are not tuned on results;
# the instrument checks, the seed rule and the qualitative claim's measure (pose consistency) were added
# in the second pass (issues 11 and 16), before the run that judges them. Ratios are plain SOM / SOM-AE
# for costs (higher = SOM-AE cheaper) and SOM-AE / plain SOM for losses (lower = SOM-AE better).
SEED_NOTE = (
    "the map seeds (initial neurons and sample order) vary on one dataset and one autoencoder (both seed 0): "
    "the spread covers the maps, not the autoencoder, whose training (about 7.6 min) would have to be "
    "repeated per seed, beyond this chapter's 20-minute budget; run with -p seed=1 for another"
)


def _beats_mean(direction: str) -> dict[str, AtLeast]:
    """Instrument checks of a loss ratio: both maps predict better than the training mean of the target.

    Each check's value is a margin, mean-baseline error minus map error (test MAE, per map seed); a map
    that does not beat predicting the mean has learned nothing a ratio could compare.
    """
    return {
        f"plain SOM beats the mean baseline ({direction})": AtLeast(0.0),
        f"SOM-AE beats the mean baseline ({direction})": AtLeast(0.0),
    }


SANITY_CHECK = "metric ranks the sanity references"  # score(nearest neighbour) better than score(mean image)


def _loss_rule(criterion, direction: str) -> Rule:
    return Rule(criterion, checks=_beats_mean(direction), min_seeds=3, seed_note=SEED_NOTE)


CRITERIA = {
    # Consistency: (4096 + 5) / (8 + 5) floats per neuron whatever is trained.
    "map-memory": Rule(AtLeast(100.0, partly=10.0), kind="consistency"),  # paper: 10.5 GB / 33.3 MB = 315
    "som-time": Rule(AtLeast(10.0, partly=3.0), min_seeds=3, seed_note=SEED_NOTE),  # paper: 61.5 h / 15.5 min = 238
    # paper: 61.5 h / (9.5 h + 15.5 min) = 6.3. Equal cost (1.0) is the trivial answer: the first pass's partly
    # bar sat on it and was raised just above it in the second pass.
    "total-time": Rule(AtLeast(2.0, partly=1.01), min_seeds=3, seed_note=SEED_NOTE),
    # Loss ratios. A trivial answer -- SOM-AE no different from the plain SOM -- scores 1.0. The first pass's
    # partly bars (1.05 for "better", 0.95 for "worse", 1.1 for "no worse") sat on the wrong side of it, and its
    # reproduced bars at exactly 1.0 let "no difference" reproduce "better"/"worse". Second pass (tightened,
    # never loosened): "better" needs mean + sd <= 0.98 (partly: <= 0.999, just better than no difference),
    # "worse" mean - sd >= 1.02 (partly: >= 1.001); "no worse" is met by equality by its own wording, so it
    # keeps its bar of 1.0 and loses the partly bar that accepted a worse SOM-AE.
    "overall-loss": _loss_rule(AtMost(1.0), "overall"),  # paper: 0.058 / 0.068 = 0.85 ("no worse")
    "m1-m1": _loss_rule(AtMost(0.98, partly=0.999), "m1→m1"),  # paper 0.84: SOM-AE better
    "m1-m2": _loss_rule(AtMost(0.98, partly=0.999), "m1→m2"),  # paper 0.78: SOM-AE better (largest gain)
    "m2-m1": _loss_rule(AtMost(0.98, partly=0.999), "m2→m1"),  # paper 0.89: SOM-AE better
    "m2-m2": _loss_rule(AtLeast(1.02, partly=1.001), "m2→m2"),  # paper 1.08: SOM-AE slightly worse
    # Pose consistency of imagined (m2→m1) test images: the joints of each imagined image's nearest training
    # image against the query's joints (normalised MAE). Value: plain SOM's error minus SOM-AE's (> 0: SOM-AE
    # imagines truer poses). 0.03 of the joint ranges is about 3 degrees; the partly bar sits just above 0,
    # what a SOM-AE no better than the plain SOM scores. The check: the measure must rank the nearest
    # training image (best) above the training-set mean image (worst); its value is error(mean image) minus
    # error(nearest neighbour). Until the second pass the measure was SSIM, which fails that check.
    "qualitative": Rule(
        AtLeast(0.03, partly=0.005), checks={SANITY_CHECK: AtLeast(0.0)}, min_seeds=3, seed_note=SEED_NOTE
    ),
}
# The break-even map size, declared before the second pass's run (issue 16): the first pass's scaling fit put
# the map size from which the plain SOM costs more than the autoencoder plus SOM-AE (20 epochs, batch 16,
# 12 000 training samples, this machine) at about 1 100 neurons. The run tests it with one timed epoch of
# each model on a `timing_side` x `timing_side` map (48 x 48 = 2 304 neurons at `default`, 2.1 times the
# prediction): if the prediction holds, SOM-AE with its autoencoder is cheaper there.
PREDICTED_BREAK_EVEN_NEURONS = 1100
CRITERIA["break-even"] = Rule(
    AtLeast(1.0),
    min_seeds=1,
    seed_note="one timed epoch per model: an epoch's cost does not depend on the map seed (timings vary with load)",
)  # value: plain SOM seconds / (AE + SOM-AE seconds) at som_epochs, from timed epochs at timing_side (paper: 6.3)
MIN_MEMORY_BYTES = 2**20  # peak-memory ratios divide by at least 1 MiB (RSS noise floor)

# Added after the first `default` run, which showed that SSIM rewards imagined images without any arm:
# a supplementary measure of "an arm in the right place", reported beside the claim, never judging it.
SILHOUETTE_THRESHOLD = 0.1  # grey-level difference from the arm-free scene that counts as "arm"
MIN_ARM_PIXELS = 20  # an imagined image "shows an arm" when its silhouette has at least this many pixels


@dataclass(frozen=True)
class SOMAEConfig(ChapterConfig):
    # dataset (Section 2.1)
    n_samples: int = 20000
    image_size: int = 64
    render_height: int = 120
    render_width: int = 200
    vertical_fov_deg: float = 90.0
    head_pitch_deg: float = 40.0
    min_arm_fraction: float = 0.005
    reject_self_collision: bool = True
    chunk_size: int = 200
    split: tuple[float, ...] = (0.6, 0.2, 0.2)
    # autoencoder (Section 2.3)
    latent_dim: int = 8
    ae_channels: tuple[int, ...] = (16, 32, 64, 128)
    ae_epochs: int = 20
    ae_batch_size: int = 64
    ae_lr: float = 1e-3
    # multimodal SOM (Section 2.2); the same map and schedule for both models unless the batch sizes differ
    map_rows: int = 20
    map_cols: int = 20
    som_epochs: int = 20
    plain_batch_size: int = 16
    somae_batch_size: int = 16
    lr_start: float = 0.5
    lr_end: float = 0.01
    sigma_start: float = 10.0
    sigma_end: float = 0.5
    weight_image: float = 1.0  # c^(m1)
    weight_joints: float = 1.0  # c^(m2)
    map_seeds: int = 3  # maps trained per model (seeds seed, seed + 1, ...), on the same data and autoencoder
    compile_distance: bool = True  # torch.compile the L1 activity kernel (falls back to torch.cdist)
    # Torch CPU threads (0: one per core). On this shared 2-core machine two threads made an AE step 20x
    # and a small SOM update 100x slower than one (threads wait for each other when cores are busy).
    torch_threads: int = 1
    # evaluation
    knn_k: int = 1
    n_table2: int = 6
    scaling_sides: tuple[int, ...] = (8, 16, 32, 64, 128)
    scaling_batches: int = 8
    paper_map_side: int = 800  # inferred from the map sizes in Section 2.3 (see the chapter)
    timing_side: int = 48  # one timed epoch of each model on this map tests the predicted break-even size
    # Batch-size study: both models retrained (first map seed) at these batch sizes, the plain SOM for
    # `batch_study_plain_epochs` epochs (the paper's batch 1 for all 20 epochs and 3 seeds would add
    # about 18 min to `default`), SOM-AE for som_epochs.
    batch_study: tuple[int, ...] = (1, 10, 16)
    batch_study_plain_epochs: int = 1

    def validate(self) -> None:
        if len(self.split) != 3 or abs(sum(self.split) - 1.0) > 1e-9:
            raise ConfigError(f"split must be three fractions summing to 1, got {self.split}")
        if self.map_rows < 2 or self.map_cols < 2:
            raise ConfigError(f"map must be at least 2x2, got {self.map_rows}x{self.map_cols}")
        if isinstance(self.map_seeds, bool) or not isinstance(self.map_seeds, int) or self.map_seeds < 1:
            raise ConfigError(f"map_seeds must be an int >= 1, got {self.map_seeds!r}")
        bad_study = not self.batch_study or min(self.batch_study) < 1 or self.batch_study_plain_epochs < 1
        if self.timing_side < 2 or bad_study:
            raise ConfigError(
                f"timing_side must be >= 2, batch_study non-empty batch sizes >= 1 and batch_study_plain_epochs >= 1; got "
                f"{self.timing_side}, {self.batch_study}, {self.batch_study_plain_epochs}"
            )
        if self.n_samples < 10:
            raise ConfigError(f"n_samples must be >= 10 (three splits), got {self.n_samples}")


PROFILES = Profiles(
    smoke=SOMAEConfig(
        n_samples=400,
        chunk_size=100,
        ae_channels=(8, 16, 32, 32),
        ae_epochs=2,
        map_rows=6,
        map_cols=6,
        som_epochs=2,
        sigma_start=3.0,
        n_table2=3,
        scaling_sides=(4, 8),
        scaling_batches=2,
        timing_side=8,
        batch_study=(1, 4),
    ),
    default=SOMAEConfig(),
    paper=SOMAEConfig(
        n_samples=20000,  # Section 2.1
        render_height=300,  # Section 2.1: 300 x 500 RGB
        render_width=500,
        latent_dim=8,  # Section 2.3
        ae_channels=(32, 64, 128, 256),  # not given; our largest
        ae_epochs=100,  # not given (9.5 h of AE training, Table 1)
        map_rows=800,  # inferred: 10.5 GB = 800*800 neurons * (4096 + 5) floats * 4 B (Section 2.3)
        map_cols=800,
        som_epochs=200,  # Table 1
        plain_batch_size=1,  # Table 1
        somae_batch_size=10,  # Table 1
        sigma_start=400.0,  # not given: half the map side
        scaling_sides=(16, 64, 256),
    ),
)


def som_ae_config(profile: str = "default", **overrides) -> SOMAEConfig:
    """The chapter's configuration for ``profile`` with ``overrides`` applied."""
    return PROFILES.get(profile, **overrides)
