"""Knobs of the pipeline demo notebook (not a chapter: it proves the pipeline end to end)."""

from dataclasses import dataclass

from sensorimotor.jobs import Job
from sensorimotor.profiles import ChapterConfig, Profiles
from sensorimotor.verdicts import Bar, Effect, Prerequisite, Rule


@dataclass(frozen=True)
class DemoConfig(ChapterConfig):
    n_samples: int = 2000
    n_seeds: int = 3  # samples drawn for the seed-spread claim
    noise_sd: float = 1.0  # the standard deviation the prerequisite must see (0 -> the check fails)
    fail_on_purpose: bool = False  # lets tests check that a failed run leaves the old report alone
    train_steps: int = 20  # Adam steps of the demo's one training job (a tiny MLP)
    n_models: int = 1  # training jobs, one tiny MLP each


PROFILES = Profiles(smoke=DemoConfig(n_samples=200), default=DemoConfig(), paper=DemoConfig(n_samples=100_000))

# --- claim rules, fixed before running and registered in rules.lock ---------------------------------
# The prerequisite of the shift claim: each seed's sample has the spread it should (a sample of
# constants shows any shift exactly, which proves nothing about a noisy estimate).
SPREAD = Prerequisite(Bar(0.8), reference="an independent standard normal sample")
RULES = {
    "demo-1": Rule(Effect(null=0.0, paper=1.0, unit="exact", null_text="a constant sample")),
    "demo-2": Rule(Effect(null=0.0, paper=1.0, null_text="no shift"), checks={"sample sd near 1": SPREAD}),
    "demo-3": Rule(Effect(null=0.0, paper=1.0, unit="exact", null_text="an empty sample"), kind="consistency"),
}


def demo_config(profile: str = "default", **overrides) -> DemoConfig:
    return PROFILES.get(profile, **overrides)


def training_jobs(config: DemoConfig) -> list[Job]:
    """What `replicate` trains before the notebook runs (the notebook only loads the weights)."""
    return [
        Job(f"demo-mlp-{k}", "sensorimotor.job_examples:train_tiny_mlp",
            {"steps": config.train_steps, "width": 8, "n": 64, "seed": config.seed * 1000 + k}, namespace="demo-mlp")
        for k in range(config.n_models)
    ]  # fmt: skip
