"""Knobs, profiles and claim rules of the DMBN chapter (Seker et al. 2022).

The rules at the bottom are registered in ``rules.lock``; every change after registration is an amendment
recorded there, with what was known at the time and the verdict the old rule gave, and shown beside the
claim. Several rules of the first two passes were changed after their values were known (rules.lock says
which); the re-declaration under replication statistics (issues 28 and 34) is itself such an amendment.
"""

import dataclasses
from pathlib import Path

from sensorimotor.profiles import ChapterConfig, ConfigError, Profiles
from sensorimotor.verdicts import Apparatus, Bar, Effect, Prerequisite, Rule


@dataclasses.dataclass(frozen=True)
class DMBNConfig(ChapterConfig):
    # CPU threads for torch; 0 = torch's default. One thread: on this shared 2-core machine two threads
    # ran a training step 7x slower (OpenMP threads fighting other jobs for the cores).
    torch_threads: int = 1
    # --- data: our robot's own interactions in the tabletop simulator (Section 4) ---------------
    n_push: int = 50
    n_grasp: int = 50
    render_size: int = 128  # simulator camera resolution
    image_size: int = 32  # resolution the networks see (area-averaged from the view window of the render)
    # the square window of the head camera's frame the networks see: (top, left, side) as fractions. The hand
    # and the object fill the frame: three times the between-interaction image signal of the second pass's
    # lower-centre window (VIEW_CANDIDATES below), and the view the issue-34 pilot chose (README, "Pilot for the third pass")
    view_window: tuple[float, float, float] = (0.2, 0.3, 0.4)
    n_steps: int = 30  # time steps recorded per interaction
    test_fraction: float = 0.2  # paper: 80 % train, 20 % test
    # --- networks (Tables C.2-C.5) --------------------------------------------------------------
    image_width: float = 0.25  # multiplier on the paper's conv widths (1.0 = Table C.2)
    image_head: tuple[int, ...] = (8, 8)  # full-resolution convs before the output (paper: 16, 8)
    latent_dim: int = 128
    joint_encoder: tuple[int, ...] = (32, 64, 64, 128, 128, 256)  # Table C.3
    joint_decoder: tuple[int, ...] = (1024, 512, 216, 128, 32)  # Table C.5
    image_sigma: str = "bounded"  # authors' notebook: sigmoid then softplus on the image sigma
    joint_loss_weight: float = 1.0  # Eq. 5 weighs modalities equally (the notebook used 0.01)
    # --- DMBN training (Appendix C) ---------------------------------------------------------------
    # batch 8 x 15000 steps (120,000 interactions seen: past the paper's 75k of Fig. 7): three times the
    # second pass's 5000 lifted image and joint ratios in both views of the issue-34 pilot (README, "Pilot for the third pass")
    train_steps: int = 15000
    batch_size: int = 8
    targets_per_sample: int = 2  # image targets per interaction and step (paper: 1)
    joint_targets_per_sample: int = 10  # joint targets per interaction and step (paper: 1; the joint decoder is cheap)
    lr: float = 1e-3
    lr_schedule: str = "cosine"  # "constant" (paper) or "cosine" (down to lr/20 over the run)
    obs_max: int = 5
    grad_clip: float = 10.0
    # --- MVAE training (Appendix D) ---------------------------------------------------------------
    mvae_steps: int = 2000
    mvae_batch_size: int = 32
    mvae_lr: float = 3e-4  # 1e-3 (the paper's) diverged to a constant output in our pilot
    # --- experiments ----------------------------------------------------------------------------
    condition_offset: int = 1  # condition this many steps before the object first moves (5.1-5.3)
    fig4_frames: int = 6  # frames shown per example in Fig. 4
    fig5_sizes: tuple[int, ...] = (10, 80)  # training interactions per point of Fig. 5 (time: 3.7 min per DMBN)
    fig5_seeds: int = 3  # models per point of Fig. 5, and MVAEs (5.2, 5.3): seeds `seed`.. (<= table1_seeds)
    tsne_fractions: tuple[float, ...] = (0.0, 0.05, 0.25, 1.0)  # of train_steps (paper: 0, 7k .. 150k)
    tsne_states: int = 250  # states encoded for Fig. 7 and the retrieval measure
    # other agent's action angles (its own frame): eight, so that a contrast per side is more than a few cases
    other_angles: tuple[float, ...] = (-0.6, -0.43, -0.26, -0.09, 0.09, 0.26, 0.43, 0.6)
    other_sides: tuple[str, ...] = ("opposite", "left")
    table1_seeds: int = 5  # Image+Joint and Image-only networks, seeds `seed`..; every claim is measured on each (paper: 10)
    disturbance_factor: float = 1.5  # "disturbed": error to nearest training frames > factor x q90 (own test)
    novelty_angles: tuple[float, ...] = (0.0, 2.2)  # our own demonstrations in novel scenes (Appendix A-B)
    # --- the authors' released data (Sections 5.1-5.3 again, on the data the paper used) ---------------
    # "auto": $DMBN_AUTHORS_DATA, else the hand-out folder ../shared/dmbn-authors/data/data2020 beside the
    # checkout, else skipped with a one-line note; a path: that data/data2020 folder; null: off.
    authors_data: str | None = "auto"
    authors_steps_per_interaction: int = 30  # resampled length of every interaction (their 34-114 rows)
    authors_image_size: int = 32
    # batch 8 x 4000 steps: at equal samples, more optimiser steps is what helps (budget pilot, README)
    authors_batch_size: int = 8
    authors_train_steps: int = 4000
    authors_mvae_steps: int = 2000  # at mvae_batch_size
    authors_fig5_sizes: tuple[int, ...] = (80,)  # the claim's point; smaller sizes cost 4.5 min a seed each
    # networks per point (Fig. 5 and the full-data claims), seeds from `seed` on; five: a 90 % interval over
    # seeds needs them where one network of three can sit at the trivial level (issue 34)
    authors_seeds: int = 5

    def validate(self) -> None:
        if self.torch_threads < 0:
            raise ConfigError(f"torch_threads={self.torch_threads} must be >= 0 (0 = torch's default)")
        if self.image_size > self.render_size * self.view_window[2]:
            raise ConfigError(f"image_size={self.image_size} must be <= render_size x window side = "
                              f"{self.render_size} x {self.view_window[2]}")
        top, left, side = self.view_window
        if not (0 <= top and 0 <= left and 0 < side and top + side <= 1 and left + side <= 1):
            raise ConfigError(f"view_window={self.view_window} (top, left, side) must lie inside the frame: "
                              "0 <= top, 0 <= left, 0 < side, top + side <= 1, left + side <= 1")
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError(f"test_fraction={self.test_fraction} must be in (0, 1)")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"lr_schedule={self.lr_schedule!r}; accepted: 'constant', 'cosine'")
        if self.image_sigma not in ("bounded", "free"):
            raise ConfigError(f"image_sigma={self.image_sigma!r}; accepted: 'bounded', 'free'")
        n_train = self.n_push + self.n_grasp - round((self.n_push + self.n_grasp) * self.test_fraction)
        too_big = [s for s in self.fig5_sizes if s > n_train]
        if too_big:
            raise ConfigError(f"fig5_sizes {too_big} exceed the {n_train} training interactions")
        bad_sides = [s for s in self.other_sides if s not in ("opposite", "left", "right")]
        if bad_sides:
            raise ConfigError(f"other_sides {bad_sides}; accepted: opposite, left, right")
        if self.obs_max + max(self.targets_per_sample, self.joint_targets_per_sample) > self.n_steps:
            raise ConfigError(
                f"obs_max + targets per sample ({self.obs_max} + {self.targets_per_sample}/{self.joint_targets_per_sample})"
                f" must be <= n_steps={self.n_steps}"
            )
        if self.authors_data is not None and not isinstance(self.authors_data, str):
            raise ConfigError(f"authors_data={self.authors_data!r}; accepted: a folder path, 'auto', or null (off)")
        if self.authors_data not in (None, "auto"):
            path = Path(self.authors_data).expanduser()
            if not path.is_absolute() or not path.is_dir():
                raise ConfigError(f"authors_data={self.authors_data!r} is not an existing absolute folder path; "
                                  "accepted: the authors' data/data2020 folder, 'auto', or null (off)")
        too_big = [s for s in self.authors_fig5_sizes if s > 80]
        if too_big:
            raise ConfigError(f"authors_fig5_sizes {too_big} exceed the authors' 80 training interactions")
        if self.fig5_seeds > self.table1_seeds:
            raise ConfigError(f"fig5_seeds={self.fig5_seeds} must be <= table1_seeds={self.table1_seeds} "
                              "(Fig. 5's largest point reuses the chapter's networks)")
        if not all(0.0 <= f <= 1.0 for f in self.tsne_fractions):
            raise ConfigError(f"tsne_fractions {self.tsne_fractions} must lie in [0, 1]")


PROFILES = Profiles(
    smoke=DMBNConfig(
        n_push=6, n_grasp=6, render_size=48, image_size=16, n_steps=12, image_width=0.125, image_head=(4,),
        latent_dim=32, joint_encoder=(32, 32), joint_decoder=(64, 32), train_steps=30, batch_size=4,
        joint_targets_per_sample=4,
        mvae_steps=30, mvae_batch_size=8, fig4_frames=4, fig5_sizes=(4, 9), fig5_seeds=2,
        tsne_fractions=(0.0, 1.0), tsne_states=30, other_angles=(0.0,), table1_seeds=2, novelty_angles=(0.0,),
        authors_steps_per_interaction=12, authors_image_size=16, authors_train_steps=30, authors_mvae_steps=30,
        authors_batch_size=4, authors_fig5_sizes=(4,), authors_seeds=2,
    ),
    default=DMBNConfig(),
    paper=DMBNConfig(
        n_push=50, n_grasp=50,  # Section 4: 50 push + 50 grasp interactions
        render_size=128, image_size=128, view_window=(0.0, 0.0, 1.0),  # Section 4: 128x128 RGB, the whole frame
        n_steps=60,  # the authors' interactions hold 60-90 steps
        image_width=1.0, image_head=(16, 8),  # Tables C.2 and C.4
        train_steps=1_000_000, batch_size=1, targets_per_sample=1, joint_targets_per_sample=1, lr=1e-4,  # Appendix C
        lr_schedule="constant",
        mvae_steps=200 * 80 * 59 // 128, mvae_batch_size=128, mvae_lr=1e-3,  # Appendix D: 200 epochs, batch 128
        fig5_sizes=(10, 20, 40, 80), fig5_seeds=5, tsne_fractions=(0.0, 0.007, 0.025, 0.075, 0.15),  # Fig. 7: 0, 7k, 25k, 75k, 150k steps
        table1_seeds=10,  # Table 1: ten training runs
        authors_steps_per_interaction=60, authors_image_size=128, authors_train_steps=1_000_000,
        authors_batch_size=1, authors_mvae_steps=200 * 80 * 59 // 128,
        authors_fig5_sizes=(10, 20, 40, 80), authors_seeds=5,
        torch_threads=0,
    ),
)


def dmbn_config(profile: str = "default", **overrides) -> DMBNConfig:
    return PROFILES.get(profile, **overrides)


def training_jobs(config: DMBNConfig) -> list:
    """What `replicate` runs before the notebook: the datasets, then every network (the notebook loads them);
    the networks on the authors' data when `authors_data` finds them (as the notebook does)."""
    from sensorimotor.devices import resolve_device
    from sensorimotor.dmbn.authors_data import find_authors_data
    from sensorimotor.dmbn.chapter_jobs import declared_jobs  # torch: imported only when the chapter runs

    authors_root = find_authors_data(config.authors_data)
    return declared_jobs(config, str(resolve_device(config.device)), authors_root)


# --- views measured for issue 34 (no training) -------------------------------------------------------
# Between-interaction image signal at 32 px (mean-trajectory image MSE; share of pixel-steps whose sd over
# interactions exceeds 0.1) on 24 fresh interactions of the chapter's simulator per view (README, "Pilot for
# the third pass");
# the authors' data: 0.0128 and 37 %. Windows of the ego camera's 128 px render, (top, left, side):
VIEW_CANDIDATES = {
    "current": (0.25, 0.125, 0.75),  # 0.0013, 8 %
    "hand-and-object": (0.2, 0.3, 0.4),  # 0.0041, 28 %: the hand and the object fill the frame
    "lower-centre": (0.15, 0.15, 0.5),  # 0.0041, 24 %
}

# --- claim rules --------------------------------------------------------------------------------------
# Re-declared under replication statistics (issues 28 and 34) on 2026-12-07, before any run judges them,
# and registered in rules.lock (each an amendment of the rule the committed report used, with its verdict
# then). Each claim: the null (what a trivial answer scores), the paper's value on our measure where the
# paper gives one, the smallest effect that counts (75 % of the paper's distance from the null unless
# stated), and a 90 % t interval over training seeds. Checks are never computed from the claim's value:
# apparatus checks read known answers (a positive control that has the effect, a negative one that has
# not, both measured in the run), prerequisites are capabilities the claim rests on, with a reference
# that passes them.
SEED_NOTE = "networks trained from consecutive seeds on one dataset and split (the chapter's seed)"
MIN_GAIN = 1.01  # "beats the mean trajectory": its error over ours at least 1 % above 1 (the mean itself: 1)

# The executor (5.1, A-B, and under the read-out 5.5-5.7): the recorded test interactions' joints replayed
# on the robot, judged against their own recorded outcomes (positive control) and against another case's
# different outcome (the next case, cyclically, whose outcome differs; negative control: a judge that cannot
# tell cases apart would accept it). For 5.1 as skill over the best constant answer (its scale: a split on
# which the constant answer is always right leaves no room, and the positive control fails); for the
# others as the share of cases that agree.
EXECUTOR_CHECK = "executor reproduces recorded outcomes from replayed joints"
EXECUTOR = Apparatus(Bar(0.9), positive="recorded joints replayed", negative="judged against another case's outcome")
# The ridge read-out from the image-conditioned latent to our joints (5.5-5.7 execute it for every network):
# known answers are the test interactions seen from one image before contact (5.1). Positive control: the
# share of its executed answers that agree with the recorded outcomes; negative: the same answers judged
# against another case's different outcome (as the executor's); per seed, in 5.7 the worse of the two
# networks. The bar is the first pass's (0.8).
READOUT_CHECK = "read-out reproduces the known test outcomes"
READOUT = Apparatus(Bar(0.8), positive="read-out on the test interactions",
                    negative="the same answers judged against another case's outcome")
# 5.7's "disturbed" criterion (the paper counts disturbed imagined videos as failures): the share of
# videos flagged (error to the nearest training frames above disturbance_factor x the 90th percentile of
# the network's own test predictions). Positive: the recorded test videos with their pixels shuffled
# (corrupted videos); negative: the recorded test videos.
DISTURBED_CHECK = "disturbed-video criterion flags corrupted videos"
DISTURBED = Apparatus(Bar(0.8), positive="corrupted (pixel-shuffled) recorded test videos",
                      negative="the recorded test videos")
# Images: the DMBN's one-image predictions beat the mean trajectory (its test MSE over ours, per seed).
IMAGE_CHECK = "DMBN images beat the mean trajectory"
IMAGES = Prerequisite(Bar(MIN_GAIN), reference="the pixel lookup's replayed videos",
                      failing_reference="the mean trajectory itself")
# 5.2, 5.3: the MVAE beats the mean trajectory (geometric mean over Fig. 5's four panels of the mean
# trajectory's error over the MVAE's, at the largest training set, per seed): a win over an MVAE that is
# worse than the trivial answer says nothing (issue 34).
MVAE_CHECK = "MVAE beats the mean trajectory (geometric mean over the four panels)"
MVAE_BEATS_MEAN = Prerequisite(Bar(MIN_GAIN), reference="the lookup (nearest training frame or joints)",
                               failing_reference="the mean trajectory itself")
# 5.4: cross-modal retrieval (minus its exact chance) reads known pairings: the joint codes against
# themselves with noise (10 % of their spread; positive) and the image codes against shuffled joint codes
# (negative), per seed.
RETRIEVAL_CHECK = "retrieval reads known pairings"
RETRIEVAL = Apparatus(Bar(0.5), positive="joint codes against themselves plus noise",
                      negative="image codes against shuffled joint codes")


def _seeds(null: float, *, paper: float | None = None, smallest: float | None = None, null_text: str) -> Effect:
    return Effect(null=null, paper=paper, smallest=smallest, null_text=null_text)


RULES = {
    # 5.1: executed outcomes of the joints decoded from one image before contact, as skill over the best
    # constant answer: (right - constant right) / (cases - constant right); 0 = always answering the
    # majority outcome, 1 = every case (the paper's accurate predictions). The lookup is shown beside.
    "dmbn-5.1": Rule(_seeds(0.0, paper=1.0, null_text="the best constant answer"), checks={EXECUTOR_CHECK: EXECUTOR}),
    # 5.2: panels of Fig. 5 (of 4) the DMBN wins at the largest training set; a coin flip per panel wins 2
    "dmbn-5.2": Rule(_seeds(2.0, paper=4.0, null_text="two panels of four: no difference"),
                     checks={IMAGE_CHECK: IMAGES, MVAE_CHECK: MVAE_BEATS_MEAN}),
    # 5.3: MVAE / DMBN image error at long horizons (the paper: "> 1", no number): the smallest effect is the
    # first pass's bar, 1.5
    "dmbn-5.3": Rule(_seeds(1.0, smallest=1.5, null_text="equal errors"),
                     checks={IMAGE_CHECK: IMAGES, MVAE_CHECK: MVAE_BEATS_MEAN}),
    # 5.4: same-interaction retrieval minus its exact chance ("paired points overlap": 1 - chance); the
    # smallest effect is the first pass's bar, half of the states
    "dmbn-5.4": Rule(_seeds(0.0, smallest=0.5, null_text="chance"), checks={RETRIEVAL_CHECK: RETRIEVAL}),
    # 5.5: through the read-out: the smaller of the pull and push lifts over the at-rest control (the same
    # scenes with the demonstrator at rest, at the same conditioning times), mean over sides; the paper's
    # one example per side is not a rate, so the smallest effect is the first pass's bar, 0.5
    "dmbn-5.5": Rule(_seeds(0.0, smallest=0.5, null_text="no lift over the at-rest control"),
                     checks={EXECUTOR_CHECK: EXECUTOR, READOUT_CHECK: READOUT}),
    # 5.6: share of mirror cases (5.5, through the read-out) whose latent-nearest training interaction
    # responds egocentrically while the pixel-nearest does not (paper: 2/2)
    "dmbn-5.6": Rule(_seeds(0.0, paper=1.0, null_text="no case"), checks={EXECUTOR_CHECK: EXECUTOR, READOUT_CHECK: READOUT}),
    # 5.7: mirror-response success rate (egocentric and not disturbed), Image+Joint minus Image-only, per
    # seed over the two cases (paper 20/20 - 10/20 = 0.5)
    "dmbn-5.7": Rule(_seeds(0.0, paper=0.5, null_text="no difference"),
                     checks={EXECUTOR_CHECK: EXECUTOR, READOUT_CHECK: READOUT, DISTURBED_CHECK: DISTURBED,
                             IMAGE_CHECK: IMAGES}),
    # A-B: skill over the best constant answer on the novel-scene demonstrations (paper: 5/5 examples)
    "dmbn-A-B": Rule(_seeds(0.0, paper=1.0, null_text="the best constant answer"), checks={EXECUTOR_CHECK: EXECUTOR}),
    # --- the authors' released data (no robot to execute on; ids 0-39 train, their tests/test.txt cases) ---
    # 5.1: log of the mean trajectory's joint MSE over the DMBN's, per seed (log: one seed's ratio of 36 or
    # of 0.8 weighs as its factor, not its size); "accurately" read as at most half the trivial error
    "dmbn-5.1-authors": Rule(_seeds(0.0, smallest=0.6931471805599453, null_text="the mean trajectory (log ratio 0)"),
                             checks={IMAGE_CHECK: IMAGES}),
    "dmbn-5.2-authors": Rule(_seeds(2.0, paper=4.0, null_text="two panels of four: no difference"),
                             checks={IMAGE_CHECK: IMAGES, MVAE_CHECK: MVAE_BEATS_MEAN}),
    "dmbn-5.3-authors": Rule(_seeds(1.0, smallest=1.5, null_text="equal errors"),
                             checks={IMAGE_CHECK: IMAGES, MVAE_CHECK: MVAE_BEATS_MEAN}),
}
