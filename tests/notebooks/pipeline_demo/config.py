"""Knobs of the pipeline demo notebook (not a chapter: it proves the pipeline end to end)."""

from dataclasses import dataclass

from sensorimotor.claims import AtLeast, AtMost, Rule
from sensorimotor.jobs import Job
from sensorimotor.profiles import ChapterConfig, Profiles


@dataclass(frozen=True)
class DemoConfig(ChapterConfig):
    n_samples: int = 2000
    n_seeds: int = 3  # samples drawn for the seed-spread claim
    noise_sd: float = 1.0  # the standard deviation the instrument check must see (0 -> the check fails)
    fail_on_purpose: bool = False  # lets tests check that a failed run leaves the old report alone
    train_steps: int = 20  # Adam steps of the demo's one training job (a tiny MLP)
    n_models: int = 1  # training jobs, one tiny MLP each


PROFILES = Profiles(smoke=DemoConfig(n_samples=200), default=DemoConfig(), paper=DemoConfig(n_samples=100_000))

# --- claim rules, fixed before running --------------------------------------------------------------
MEAN_ERROR = AtMost(0.1, partly=0.2)
# The mean over seeds is near 0, judged against its spread; the instrument check: the sample has the
# spread it should (a sample of constants could not show a mean error at all).
SEED_MEAN = Rule(AtMost(0.1), checks={"sample sd near 1": AtLeast(0.8)}, min_seeds=3)
SAMPLE_SIZE = Rule(AtLeast(1), kind="consistency")  # true by construction


def demo_config(profile: str = "default", **overrides) -> DemoConfig:
    return PROFILES.get(profile, **overrides)


def training_jobs(config: DemoConfig) -> list[Job]:
    """What `replicate` trains before the notebook runs (the notebook only loads the weights)."""
    return [
        Job(f"demo-mlp-{k}", "sensorimotor.job_examples:train_tiny_mlp",
            {"steps": config.train_steps, "width": 8, "n": 64, "seed": config.seed * 1000 + k}, namespace="demo-mlp")
        for k in range(config.n_models)
    ]  # fmt: skip
