"""Models of the mirror-alignment chapter on synthetic tensors: U, E, alignment heads, InfoNCE, loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sensorimotor.mirror_align.alignment import (
    AlignmentHeads,
    chance_recall_at_1,
    info_nce,
    multi_positive_nce,
    pair_similarity,
    recall_at_1,
    sample_partners,
)
from sensorimotor.mirror_align.policy import ARPolicy, PolicySpec
from sensorimotor.mirror_align.training import (
    MirrorData,
    ProbeSpec,
    TrainSpec,
    episode_features,
    open_loop_action_errors,
    recognition_accuracy,
    train_mirror,
    train_probe,
)
from sensorimotor.mirror_align.video_text import (
    ActionUnderstanding,
    ActionUnderstandingSpec,
    InstructionTokenizer,
)

TEXTS = ("push the red cube left", "push the red cube right", "lift the blue cube", "stack red on blue")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def tiny_u(n_frames: int = 3) -> ActionUnderstanding:
    return ActionUnderstanding(ActionUnderstandingSpec(
        vocabulary=TEXTS, n_frames=n_frames, channels=(8, 16), width=32, heads=2, embed_dim=16))  # fmt: skip


def tiny_e(chunk: int = 3) -> ARPolicy:
    return ARPolicy(PolicySpec(
        vocabulary=TEXTS, proprio_dim=5, action_dim=4, binary_dims=(3,), action_scale=(0.02, 0.02, 0.02, 1.0),
        chunk=chunk, channels=(8, 16), grid=2, width=32, heads=2, trunk_layers=1))  # fmt: skip


# -- tokenizer --------------------------------------------------------------------------------------


def test_tokenizer_encodes_unknown_words_into_buckets():
    tok = InstructionTokenizer(TEXTS, max_length=6, n_unknown=4)
    ids = tok.encode(["push the red cube left", "Push the PURPLE cube, quickly!"])
    assert ids.shape == (2, 6) and ids.dtype == torch.long
    assert ids[0, 0] == ids[1, 0]  # "push" known, case-insensitive
    assert 1 <= int(ids[1, 2]) <= 4  # "purple" -> an unknown bucket
    assert tok.unknown_words("push the purple cube quickly") == ["purple", "quickly"]
    assert ids[1, 5] == 0  # padding after 5 words
    assert tok.encode("")[0, 0] == 1  # an empty instruction still encodes (one unknown token)
    with pytest.raises(TypeError, match="must be a str"):
        tok.encode([3])


def test_unseen_instruction_still_embeds():
    u = tiny_u()
    z = u.embed_text(["wobble the octarine dodecahedron"])
    assert z.shape == (1, 16) and torch.isfinite(z).all()


# -- InfoNCE, heads, recall ---------------------------------------------------------------------------


def test_info_nce_matches_cross_entropy_and_rewards_alignment():
    z = torch.randn(8, 5)
    ref = 0.5 * (F.cross_entropy(F.normalize(z, dim=-1) @ F.normalize(z, dim=-1).T / 0.1, torch.arange(8)) * 2)
    assert torch.allclose(info_nce(z, z, 0.1), ref, atol=1e-5)
    assert torch.allclose(info_nce(z, z, 0.1, labels=torch.arange(8)), ref, atol=1e-5)
    assert info_nce(z, z, 0.1) < info_nce(z, torch.randn(8, 5), 0.1)


def test_multi_positive_nce_ignores_same_label_negatives():
    logits = torch.tensor([[5.0, 5.0, -5.0], [5.0, 5.0, -5.0], [-5.0, -5.0, 5.0]])
    same = multi_positive_nce(logits, torch.tensor([0, 0, 1]))
    distinct = multi_positive_nce(logits, torch.tensor([0, 1, 2]))
    assert same < 1e-3 < distinct


@pytest.mark.parametrize("tau", [0, -0.1, float("nan"), float("inf"), "0.1", True])
def test_bad_tau_raises(tau):
    with pytest.raises(ValueError, match="tau must be a finite number > 0"):
        info_nce(torch.randn(4, 3), torch.randn(4, 3), tau)


def test_mismatched_pairs_raise():
    with pytest.raises(ValueError, match="mismatched batch of pairs"):
        info_nce(torch.randn(4, 3), torch.randn(5, 3))
    heads = AlignmentHeads(6, 7, 8)
    with pytest.raises(ValueError, match="mismatched batch of pairs"):
        heads.loss(torch.randn(4, 6), torch.randn(3, 7))
    with pytest.raises(ValueError, match="labels must have shape"):
        info_nce(torch.randn(4, 3), torch.randn(4, 3), labels=torch.arange(3))
    with pytest.raises(ValueError, match="unknown positive level 'scene'"):
        TrainSpec(level="scene")
    with pytest.raises(ValueError, match="tau must be"):
        ProbeSpec(tau=0.0)


def test_heads_map_to_unit_vectors_and_recall():
    heads = AlignmentHeads(6, 7, 8)
    zu, ze = heads(torch.randn(5, 6), torch.randn(5, 7))
    assert zu.shape == ze.shape == (5, 8)
    assert torch.allclose(zu.norm(dim=-1), torch.ones(5), atol=1e-5)
    z = torch.randn(10, 4)
    assert recall_at_1(z, z) == 1.0
    assert recall_at_1(z, z.flip(0), labels=np.zeros(10)) == 1.0
    assert recall_at_1(z, -z) == 0.0
    assert chance_recall_at_1(n=10) == 0.1
    assert math.isclose(chance_recall_at_1([0, 0, 1, 1, 2, 2]), 1 / 3)
    assert np.allclose(pair_similarity(z, 2 * z), 1.0, atol=1e-5)


def test_sample_partners_share_the_label_and_avoid_self():
    labels = np.array([0, 0, 0, 1, 1, 2])
    rng = np.random.default_rng(0)
    anchors = np.array([0, 1, 2, 3, 4, 5] * 20)
    partners = sample_partners(labels, anchors, rng, exclude_self=True)
    assert (labels[partners] == labels[anchors]).all()
    assert (partners[anchors != 5] != anchors[anchors != 5]).all()  # label 2 has one member: itself
    assert set(partners[anchors == 0]) == {1, 2}
    assert (sample_partners(labels, anchors, rng, exclude_self=False)[anchors == 5] == 5).all()


# -- U and E ----------------------------------------------------------------------------------------------


def test_understanding_loss_backward_and_recognise():
    u = tiny_u()
    video = torch.randint(0, 256, (4, 3, 16, 16, 3), dtype=torch.uint8)
    ids = u.tokenizer.encode(list(TEXTS))
    loss = u.loss(video, ids, torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert torch.isfinite(loss) and u.video.frames.tokens.convs[0].weight.grad is not None
    assert u.features(video).shape == (4, u.feature_dim)
    assert u.recognise(video, TEXTS).shape == (4,)
    with pytest.raises(ValueError, match="takes 3 frames"):
        u.features(video[:, :2])
    with pytest.raises(ValueError, match="at least one candidate"):
        u.recognise(video, [])


def test_policy_loss_and_autoregressive_act():
    e = tiny_e()
    image = torch.randint(0, 256, (6, 16, 16, 3), dtype=torch.uint8)
    proprio, ids = torch.randn(6, 5), e.encode_text([TEXTS[0]] * 6)
    actions = torch.randn(6, 3, 4) * 0.02
    actions[..., 3] = (actions[..., 3] > 0).float()
    loss, feature = e.loss(image, proprio, ids, actions, return_features=True)
    loss.backward()
    assert torch.isfinite(loss) and feature.shape == (6, e.feature_dim)
    out = e.act(image, proprio, ids)
    assert out.shape == (6, 3, 4)
    assert set(out[..., 3].unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="actions must be"):
        e.loss(image, proprio, ids, actions[:, :2])
    with pytest.raises(ValueError, match="batch mismatch"):
        e.features(image, proprio[:3], ids)
    with pytest.raises(ValueError, match="binary_dims"):
        PolicySpec(vocabulary=TEXTS, proprio_dim=5, action_dim=4, binary_dims=(4,))


def test_policy_decoder_is_causal():
    e = tiny_e().eval()
    image = torch.randint(0, 256, (2, 16, 16, 3), dtype=torch.uint8)
    memory, pad, _ = e.encode(image, torch.randn(2, 5), e.encode_text([TEXTS[1]] * 2))
    prev = torch.randn(2, 2, 4)
    changed = prev.clone()
    changed[:, 1] += 1.0
    a, b = e._decode(memory, pad, prev), e._decode(memory, pad, changed)
    assert torch.allclose(a[:, :2], b[:, :2], atol=1e-5) and not torch.allclose(a[:, 2], b[:, 2])


# -- loops on a synthetic data set ----------------------------------------------------------------------


def synthetic_data(n_per: int = 4, steps: int = 5, frames: int = 3) -> MirrorData:
    """Each instruction is a colour; videos and observations show it; actions encode the instruction."""
    gen = torch.Generator().manual_seed(0)
    instr = torch.arange(len(TEXTS)).repeat_interleave(n_per)
    colours = torch.tensor([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]], dtype=torch.uint8)
    n = len(instr)
    noise = lambda *s: torch.randint(0, 60, s, generator=gen, dtype=torch.uint8)  # noqa: E731
    videos = noise(n, frames, 16, 16, 3) + colours[instr][:, None, None, None] // 2
    obs = noise(n, steps, 16, 16, 3) + colours[instr][:, None, None, None] // 2
    actions = torch.zeros(n, steps, 4)
    actions[:, :, 0] = 0.02 * (instr[:, None].float() - 1.5)
    actions[:, :, 3] = (instr[:, None] % 2).float()
    return MirrorData(videos=videos, obs=obs, proprio=torch.randn(n, steps, 5, generator=gen), actions=actions,
                      instruction=instr, task=instr // 2, episode=torch.arange(n), instructions=TEXTS)  # fmt: skip


def test_mirror_data_checks_shapes():
    data = synthetic_data()
    with pytest.raises(ValueError, match="obs has"):
        MirrorData(**{**data.__dict__, "obs": data.obs[:3]})


@pytest.mark.parametrize("level", ["episode", "instruction", "task"])
def test_train_mirror_runs_and_learns(level):
    data = synthetic_data()
    u, e = tiny_u(), tiny_e()
    heads = AlignmentHeads(u.feature_dim, e.feature_dim, 16)
    spec = TrainSpec(steps=40, batch_size=8, lr=3e-3, align_lr=3e-3, level=level)
    hist = train_mirror(u, e, heads, data, spec, seed=0, progress=False)
    assert len(hist["au"]) == len(hist["align"]) == 40
    assert np.mean(hist["ee"][-5:]) < np.mean(hist["ee"][:5])
    assert np.mean(hist["align"][-5:]) < np.mean(hist["align"][:5])
    us, es = episode_features(u, e, data, k=2)
    assert us.shape == (len(data), u.feature_dim) and es.shape == (len(data), e.feature_dim)
    assert recognition_accuracy(u, data).shape == (len(data),)


def test_baseline_trains_no_heads_and_same_seed_same_result():
    data = synthetic_data()
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        u, e = tiny_u(), tiny_e()
        heads = AlignmentHeads(u.feature_dim, e.feature_dim, 16)
        before = heads.to_shared_u.weight.clone()
        hist = train_mirror(u, e, heads, data, TrainSpec(steps=5, batch_size=8, lambda_align=0.0), 3, progress=False)
        assert hist["align"] == [] and torch.equal(before, heads.to_shared_u.weight)
        runs.append(hist["ee"])
    assert runs[0] == runs[1]


def test_probe_recovers_a_linear_relation():
    gen = torch.Generator().manual_seed(0)
    labels = np.repeat(np.arange(8), 6)
    centres = torch.randn(8, 12, generator=gen)
    u = centres[labels] + 0.3 * torch.randn(len(labels), 12, generator=gen)
    e = u @ torch.randn(12, 20, generator=gen) + 0.3 * torch.randn(len(labels), 20, generator=gen)
    heads = train_probe(u, e, labels, ProbeSpec(steps=150, batch_size=32, shared_dim=32), seed=0)
    with torch.no_grad():
        zu, ze = heads(u, e)
    assert recall_at_1(zu, ze, labels) > 0.9 > chance_recall_at_1(labels)


def test_open_loop_action_errors_shape_and_zero_for_a_perfect_policy():
    data = synthetic_data()
    e = tiny_e()
    errors = open_loop_action_errors(e, data, [0, 2])
    assert errors.shape == (len(data), 2) and (errors >= 0).all()

    class Oracle(ARPolicy):  # returns the recorded action: the error must vanish
        def act(self, image, proprio, text_ids):
            return lookup[image[:, 0, 0, 0].long()]

    oracle = Oracle(e.spec)
    marked = MirrorData(**{**data.__dict__, "obs": data.obs.clone()})
    lookup = torch.zeros(256, e.spec.chunk, 4)
    for i in range(len(data)):
        marked.obs[i, 1, 0, 0, 0] = i  # identify the (episode, step) from a pixel
        lookup[i] = data.actions[i, 1]
    assert np.allclose(open_loop_action_errors(oracle, marked, [1]), 0.0)
    with pytest.raises(ValueError, match="times must lie in 0..4"):
        open_loop_action_errors(e, data, [5])

