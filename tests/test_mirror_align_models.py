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
from sensorimotor.mirror_align.keyframes import HEIGHTS, START, STOP
from sensorimotor.mirror_align.policy import KeyframePolicy, PolicySpec, blob
from sensorimotor.mirror_align.training import (
    MirrorData,
    ProbeSpec,
    TrainSpec,
    episode_features,
    recognition_accuracy,
    shift_images,
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


SIZE = 16


def tiny_e() -> KeyframePolicy:
    return KeyframePolicy(PolicySpec(vocabulary=TEXTS, image_size=SIZE, channels=(8, 8, 16), width=32, heads=2))


def e_inputs(e: KeyframePolicy, n: int, text: str = TEXTS[0]):
    image = torch.randint(0, 256, (n, SIZE, SIZE, 3), dtype=torch.uint8)
    return (image, e.encode_text([text] * n), torch.zeros(n, dtype=torch.long), torch.full((n,), START),
            torch.zeros(n), torch.full((n, 2), SIZE / 2))  # fmt: skip


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


def test_policy_loss_outputs_and_bad_input():
    e = tiny_e()
    inputs = e_inputs(e, 6)
    heat, height, grip, feature = e(*inputs)
    assert heat.shape == (6, SIZE * SIZE) and height.shape == (6, len(HEIGHTS) + 1) and grip.shape == (6,)
    assert feature.shape == (6, e.feature_dim)
    pixel = torch.rand(6, 2) * SIZE
    target_height = torch.tensor([0, 1, 2, STOP, 4, 5])
    loss, f = e.loss(inputs, pixel, target_height, torch.tensor([0.0, 1, 0, 0, 1, 1]), return_features=True)
    loss.backward()
    assert torch.isfinite(loss) and e.stem.conv.weight.grad is not None and e.text.embed.weight.grad is not None
    out = e.predict(*inputs)
    assert out["pixel"].shape == (6, 2) and ((out["pixel"] >= 0) & (out["pixel"] <= SIZE)).all()
    assert set(out["grip"].tolist()) <= {0.0, 1.0} and out["height"].max() <= STOP
    with pytest.raises(ValueError, match="takes \\(16, 16\\) RGB images"):
        e(torch.zeros(2, 8, 8, 3, dtype=torch.uint8), *inputs[1:])
    with pytest.raises(ValueError, match="batch mismatch"):
        e(inputs[0][:3], *inputs[1:])
    with pytest.raises(ValueError, match="multiple of 8"):
        PolicySpec(vocabulary=TEXTS, image_size=20)


def test_e_sees_image_and_instruction_and_reads_word_order():
    torch.manual_seed(0)
    e = tiny_e()
    for block in e.modules():  # FiLM starts as the identity; give it weights so the text matters at init
        if hasattr(block, "proj") and isinstance(block.proj, torch.nn.Linear) and block.proj.weight.shape[1] == 32:
            torch.nn.init.normal_(block.proj.weight, std=0.3)
    inputs = e_inputs(e, 2)
    base = e.features(*inputs)
    other_text = e.features(inputs[0], e.encode_text(["stack blue on red"] * 2), *inputs[2:])
    other_image = e.features(torch.flip(inputs[0], (1,)), *inputs[1:])
    assert not torch.allclose(base, other_text, atol=1e-4) and not torch.allclose(base, other_image, atol=1e-4)
    order = e.text_features(e.encode_text(["stack red on blue", "stack blue on red"]))
    assert not torch.allclose(order[0], order[1], atol=1e-4)  # same words, other order: another encoding


def test_heatmap_training_finds_the_marked_pixel():
    """E learns to put its peak on a bright square whose position is random: localisation from the image."""
    torch.manual_seed(0)
    e = tiny_e()
    opt = torch.optim.Adam(e.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)

    def batch(n):
        pos = torch.randint(2, SIZE - 2, (n, 2), generator=gen)
        image = torch.zeros(n, SIZE, SIZE, 3, dtype=torch.uint8)
        for i, (c, r) in enumerate(pos.tolist()):
            image[i, r - 1 : r + 2, c - 1 : c + 2] = 255
        inputs = (image, *e_inputs(e, n)[1:])
        return inputs, pos.float() + 0.5

    for _ in range(150):
        inputs, pixel = batch(16)
        loss = e.loss(inputs, pixel, torch.zeros(16, dtype=torch.long), torch.zeros(16))
        opt.zero_grad()
        loss.backward()
        opt.step()
    inputs, pixel = batch(32)
    error = np.linalg.norm(e.predict(*inputs)["pixel"] - pixel.numpy(), axis=1)
    assert np.median(error) < 1.5


def test_blob_peaks_at_its_pixel_and_shift_moves_labels_with_the_image():
    b = blob(torch.tensor([[3.5, 10.5]]), SIZE)[0, 0]
    assert tuple(np.unravel_index(int(b.argmax()), b.shape)) == (10, 3)
    image = torch.zeros(1, SIZE, SIZE, 3, dtype=torch.uint8)
    image[0, 6, 4] = 255
    moved = shift_images(image, np.array([[3, -2]]))
    assert tuple(torch.nonzero(moved[0, ..., 0])[0].tolist()) == (4, 7)  # row - 2, column + 3


# -- loops on a synthetic data set ----------------------------------------------------------------------


def synthetic_data(n_per: int = 4, keys: int = 4, frames: int = 3) -> MirrorData:
    """Each instruction is a colour; videos and images show it; the key-frame targets encode the instruction."""
    gen = torch.Generator().manual_seed(0)
    instr = torch.arange(len(TEXTS)).repeat_interleave(n_per)
    colours = torch.tensor([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]], dtype=torch.uint8)
    n = len(instr)
    noise = lambda *s: torch.randint(0, 60, s, generator=gen, dtype=torch.uint8)  # noqa: E731
    videos = noise(n, frames, 16, 16, 3) + colours[instr][:, None, None, None] // 2
    key_obs = noise(n, keys, SIZE, SIZE, 3) + colours[instr][:, None, None, None] // 2
    key_pixel = torch.stack([2.5 + 3 * instr.float(), torch.full((n,), 8.5)], 1)[:, None].expand(n, keys, 2).clone()
    key_height = torch.full((n, keys), 5, dtype=torch.long)
    key_height[:, -1] = STOP
    valid = torch.ones(n, keys, dtype=torch.bool)
    valid[::2, -1] = False  # some episodes end earlier
    return MirrorData(videos=videos, key_obs=key_obs, key_pixel=key_pixel, key_height=key_height,
                      key_grip=(instr[:, None] % 2).float().expand(n, keys).clone(), key_valid=valid,
                      instruction=instr, task=instr // 2, episode=torch.arange(n), instructions=TEXTS)  # fmt: skip


def test_mirror_data_checks_shapes():
    data = synthetic_data()
    with pytest.raises(ValueError, match="key_obs has 3 episodes"):
        MirrorData(**{**data.__dict__, "key_obs": data.key_obs[:3]})
    with pytest.raises(ValueError, match="key_pixel has 2 key-frames"):
        MirrorData(**{**data.__dict__, "key_pixel": data.key_pixel[:, :2]})
    ep, ks = data.sample_keyframes(np.arange(len(data)), 20, np.random.default_rng(0))
    assert data.key_valid[torch.as_tensor(ep), torch.as_tensor(ks)].all()  # never an invalid key-frame


@pytest.mark.parametrize("level", ["episode", "instruction", "task"])
def test_train_mirror_runs_and_learns(level):
    data = synthetic_data()
    u, e = tiny_u(), tiny_e()
    heads = AlignmentHeads(u.feature_dim, e.feature_dim, 16)
    spec = TrainSpec(steps=40, batch_size=8, lr=3e-3, align_lr=3e-3, level=level, e_shift=1)
    hist = train_mirror(u, e, heads, data, spec, seed=0, progress=False)
    assert len(hist["au"]) == len(hist["align"]) == 40
    assert np.mean(hist["ee"][-5:]) < np.mean(hist["ee"][:5])
    assert np.mean(hist["align"][-5:]) < np.mean(hist["align"][:5])
    us, es = episode_features(u, e, data)
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


def test_text_alignment_control_and_blank_instruction_features():
    data = synthetic_data()
    u, e = tiny_u(), tiny_e()
    heads = AlignmentHeads(u.feature_dim, e.feature_dim, 16)
    hist = train_mirror(u, e, heads, data, TrainSpec(steps=3, batch_size=8, e_source="text"), seed=0)
    assert len(hist["align"]) == 3
    _, e_text = episode_features(u, e, data, e_source="text")
    same = data.instruction.numpy()
    assert torch.allclose(e_text[same == 0][0], e_text[same == 0][1])  # text only: one vector per instruction
    _, e_blank = episode_features(u, e, data, blank_instruction=True)
    _, e_full = episode_features(u, e, data)
    assert e_blank.shape == e_full.shape and not torch.allclose(e_blank, e_full)
    with pytest.raises(ValueError, match="e_source='video'"):
        TrainSpec(e_source="video")


def test_groupnorm_spreads_u_features_at_initialisation():
    """Issue 31: without normalisation U's frame encoder gave every video nearly the same feature."""
    from sensorimotor.mirror_align.experiments import initial_spread

    gen = torch.Generator().manual_seed(0)
    videos = torch.randint(0, 256, (8, 3, 24, 24, 3), generator=gen, dtype=torch.uint8)
    spread = {}
    for groups in (0, 8):
        torch.manual_seed(0)
        u = ActionUnderstanding(ActionUnderstandingSpec(vocabulary=TEXTS, n_frames=3, channels=(16, 32, 64),
                                                        width=32, heads=2, embed_dim=16, norm_groups=groups))
        spread[groups] = initial_spread(u, videos)
        norms = [m for m in u.video.modules() if isinstance(m, torch.nn.GroupNorm)]
        assert len(norms) == (3 if groups else 0)
    assert spread[8] > 10 * spread[0]


def test_e_is_the_expectation_of_the_training_draw():
    """One definition of e: training draws one key-frame with the sampling weights; evaluation takes the
    weighted mean of the same per-key-frame features."""
    data = synthetic_data()
    u, e = tiny_u(), tiny_e()
    _, es = episode_features(u, e, data)
    text = e.encode_text(list(data.instructions))
    w = torch.from_numpy(data._weights).float()
    i = 1
    ks = np.flatnonzero(w[i].numpy() > 0)
    inputs, _ = data.keyframe_batch(np.full(len(ks), i), ks, text)
    with torch.no_grad():
        f = e.eval().features(*inputs)
    expected = (f * w[i, ks].unsqueeze(-1)).sum(0) / w[i, ks].sum()
    assert torch.allclose(es[i], expected, atol=1e-5)


def test_fine_tuning_orders_draw_different_batches_and_arms_of_an_order_the_same():
    """Each fine-tuning order is its own batch stream (a replication unit); the arms of one order are paired."""
    from sensorimotor.mirror_align.experiments import Condition
    from sensorimotor.seeding import rng

    def first_batches(condition: Condition) -> list[int]:
        return rng(condition.seed, *condition.stream).integers(0, 10_000, size=8).tolist()

    arms = [Condition(align=a, level="instruction", tau=0.1, seed=0, order=k) for k in range(3) for a in (False, True)]
    batches = [first_batches(c) for c in arms]
    assert batches[0] == batches[1] and batches[2] == batches[3] and batches[4] == batches[5]
    assert len({tuple(batches[i]) for i in (0, 2, 4)}) == 3
