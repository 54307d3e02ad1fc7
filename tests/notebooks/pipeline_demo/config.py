"""Knobs of the pipeline demo notebook (not a chapter: it proves the pipeline end to end)."""

from dataclasses import dataclass

from sensorimotor.claims import AtMost
from sensorimotor.profiles import ChapterConfig, Profiles


@dataclass(frozen=True)
class DemoConfig(ChapterConfig):
    n_samples: int = 2000
    fail_on_purpose: bool = False  # lets tests check that a failed run leaves the old report alone
    mean_error_criterion: AtMost = AtMost(0.1, partly=0.2)


PROFILES = Profiles(smoke=DemoConfig(n_samples=200), default=DemoConfig(), paper=DemoConfig(n_samples=100_000))


def demo_config(profile: str = "default", **overrides) -> DemoConfig:
    return PROFILES.get(profile, **overrides)
