"""Knobs of the DMBN chapter (Seker et al. 2022) and its three profiles.

The claim rules at the bottom (criteria, instrument checks, seeds) were written before the `default` run and
are not tuned afterwards.
"""

import dataclasses
from pathlib import Path

from sensorimotor.claims import AtLeast, Rule
from sensorimotor.profiles import ChapterConfig, ConfigError, Profiles


@dataclasses.dataclass(frozen=True)
class DMBNConfig(ChapterConfig):
    # CPU threads for torch; 0 = torch's default. One thread: on this shared 2-core machine two threads
    # ran a training step 7x slower (OpenMP threads fighting other jobs for the cores).
    torch_threads: int = 1
    # networks trained at once, each in its own process of one thread (the chapter's seeds are independent):
    # two use both cores of the 2-core machine when the chapter runs alone
    train_workers: int = 2
    # --- data: our robot's own interactions in the tabletop simulator (Section 4) ---------------
    n_push: int = 50
    n_grasp: int = 50
    render_size: int = 128  # simulator camera resolution
    image_size: int = 32  # resolution the networks see (area-averaged from the view window of the render)
    # the square window of the head camera's frame the networks see: (top, left, side) as fractions. The lower
    # centre (the table around the object, the hand near it) without the sky and the arm's base: the object
    # spans about 2.7 px at 32 px instead of 2 (budget pilot, README: it helps the images more than any loss
    # balance)
    view_window: tuple[float, float, float] = (0.25, 0.125, 0.75)
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
    # batch 8 x 5000 steps: at equal samples more optimiser steps is what helps, and with the view window
    # 5000 steps is where every pilot seed's images beat the mean trajectory (README, budget pilot)
    train_steps: int = 5000
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
    authors_seeds: int = 3  # networks per point (Fig. 5 and the full-data claims), seeds from `seed` on

    def validate(self) -> None:
        if self.train_workers < 0:
            raise ConfigError(f"train_workers={self.train_workers} must be >= 0 (0 or 1: one network at a time)")
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
        n_push=6, n_grasp=6, render_size=32, image_size=16, n_steps=12, image_width=0.125, image_head=(4,),
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
        torch_threads=0, train_workers=1,
    ),
)


def dmbn_config(profile: str = "default", **overrides) -> DMBNConfig:
    return PROFILES.get(profile, **overrides)


# --- claim rules, fixed before running ---------------------------------------------------------------
# Instrument checks (issue 11): measured preconditions showing that the experiment could have seen the
# effect; a failed check makes the verdict "inconclusive". Each is computed from what the chapter already
# measures (seconds, no extra training).

# The image decoder beats the trivial image predictor: test image MSE of the training set's mean
# trajectory (per time step) divided by the DMBN's, both from one image one step before contact.
IMAGE_CHECK = "image prediction beats the mean trajectory (mean-trajectory MSE / DMBN MSE)"
BEATS_MEAN_IMAGE = AtLeast(1.0)
# 5.1 and A-B: right cases minus those of the best constant answer (always lift, or always push in one
# direction) on the same cases; at least one case more.
MAJORITY_CHECK = "cases right beyond always answering the majority outcome"
BEATS_MAJORITY = AtLeast(1)
# 5.4 and 5.6: the image codes find their own state's joint code more often than under shuffled pairings
# (share of 1000 shuffles of the image-joint pairing that score below the measured retrieval).
RETRIEVAL_CHECK = "retrieval beats its shuffled pairings (share of 1000 shuffles below it)"
BEATS_SHUFFLED = AtLeast(0.95)
# 5.5: the response follows the demonstrated action, not only the demonstrator's side. Only the left side
# separates the two: there the paper's answers to a push (effect: the object goes to our right) and to a
# pull (mirror: towards us) are different motions, while from the opposite side both are "towards us".
# Value: share of the left side's angles at which our executed response to the pull differs from our
# response to the push (a response fixed by the side scores 0).
SIDE_CHECK = "left side: response to the pull differs from the response to the push (share of angles)"
NOT_SIDE_ALONE = AtLeast(0.5)
# 5.7: one judge for both networks: a ridge read-out from the image-conditioned latent to our joints, executed.
# Known answers: the test interactions seen from one image before contact (5.1); the read-out's executed
# outcome must match the recorded one, per seed, for both networks (the worse of the two).
JUDGE_CHECK = "read-out judge reproduces the known test outcomes (worse of the two networks)"
JUDGE_READS = AtLeast(0.8)


CRITERIA = {
    # 5.1: fraction of test interactions whose joints, decoded from one image just before contact
    # (joint availability 0), replayed on the robot, cause the same outcome (lifted / direction) as the truth.
    # Partly bar raised from 0.5 to 0.7: always answering "lift" scores 0.65 on seed 0's test split (13 grasps
    # in 20); 0.7 is one case above it. The check covers other splits, whose majority share differs.
    "5.1": Rule(AtLeast(0.8, partly=0.7), checks={MAJORITY_CHECK: BEATS_MAJORITY}, min_seeds=3),
    # 5.2: panels of Fig. 5 (of 4) in which DMBN's mean error is below MVAE's at the largest training set,
    # per Fig. 5 seed; the image panels rest on predicted images
    "5.2": Rule(AtLeast(4, partly=2), checks={IMAGE_CHECK: BEATS_MEAN_IMAGE}, min_seeds=3),
    # 5.3: MVAE / DMBN image error ratio at long horizons (|t - t_cond| >= n_steps / 3)
    "5.3": Rule(AtLeast(1.5, partly=1.0), checks={IMAGE_CHECK: BEATS_MEAN_IMAGE}, min_seeds=3),
    # 5.4: cross-modal retrieval at the end of training: share of states whose image code's nearest joint code
    # is from the same interaction (any step; pair by pair within one step is printed beside it). Exact
    # chance is about 1/80 (0.016 on seed 0's states), far below the partly bar.
    "5.4": Rule(AtLeast(0.5, partly=0.2), checks={RETRIEVAL_CHECK: BEATS_SHUFFLED}, min_seeds=3),
    # 5.5: the contrast of the paper's claim, per seed: for each side, the share of pulls answered egocentrically
    # and the share of pushes answered by effect, each minus the share the at-rest control (the same scene
    # before the other robot moves) scores on the same demonstrations; the smaller of the two lifts, averaged
    # over the sides. A network that ignores the demonstrator's action scores 0; partly needs a quarter.
    "5.5": Rule(AtLeast(0.5, partly=0.25), checks={SIDE_CHECK: NOT_SIDE_ALONE}, min_seeds=3),
    # 5.6: fraction of mirror cases whose latent-nearest training interaction responds egocentrically
    # while the pixel-nearest one does not; the latent must carry joint information (5.4's check)
    "5.6": Rule(AtLeast(0.75, partly=0.5), checks={RETRIEVAL_CHECK: BEATS_SHUFFLED}, min_seeds=3,
                seed_note="measured on every seed that gave a mirror response in 5.5; a seed without one has no case"),
    # 5.7: success rate of Image+Joint minus Image-only over seeds x 2 cases (paper 20/20 - 10/20 = 0.5);
    # judged on imagined videos, so both the images and the video judge must pass their checks
    "5.7": Rule(AtLeast(0.25, partly=0.01), checks={IMAGE_CHECK: BEATS_MEAN_IMAGE, JUDGE_CHECK: JUDGE_READS},
                min_seeds=3),
    # A-B: fraction of novel-configuration demonstrations answered with the right action and direction.
    # Partly bar raised from 0.5 to 0.55: half the demonstrations are grasps, so always lifting scores 0.5.
    "A-B": Rule(AtLeast(0.8, partly=0.55), checks={MAJORITY_CHECK: BEATS_MAJORITY}, min_seeds=3),
    # --- the same claims on the authors' released data (ids 0-39 train; the cases are their test conditions,
    # ids 45-49 from tests/test.txt; their validation conditions, ids 40-44, are reported beside). No robot to execute joints on: 5.1 is judged on the decoded
    # joints themselves. Bars follow from the claim, not from any run: "accurately" is read as at most half
    # the error of the trivial answer (the training mean trajectory), i.e. a ratio of at least 2; partly is
    # a ratio of 1.25, a quarter less error than the trivial answer (which scores exactly 1).
    "5.1-authors": Rule(AtLeast(2.0, partly=1.25), checks={IMAGE_CHECK: BEATS_MEAN_IMAGE}, min_seeds=3),
    # 5.2: panels (of 4) in which DMBN's mean error is below MVAE's at the largest training set, per seed
    "5.2-authors": Rule(AtLeast(4, partly=2), checks={IMAGE_CHECK: BEATS_MEAN_IMAGE}, min_seeds=3),
    # 5.3: MVAE / DMBN image error ratio at long horizons, per seed (as 5.3)
    "5.3-authors": Rule(AtLeast(1.5, partly=1.0), checks={IMAGE_CHECK: BEATS_MEAN_IMAGE}, min_seeds=3),
}
