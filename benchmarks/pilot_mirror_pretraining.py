"""Pilot for issue 31: do U and E stop improving on held-out data within 2000 pretraining steps?

Pretrains one seed of the mirror-alignment chapter's ``default`` profile (U and E trained independently,
exactly as :func:`sensorimotor.mirror_align.experiments.pretrain` does: same models, data, batch stream and
learning rates) for ``--steps`` steps instead of the profile's ``pretrain_steps`` (1000), without writing a
cache entry, and every ``--every`` steps prints:

- U's held-out recognition (the chapter's measure, 280 held-out videos, 28-way) and on its training videos;
- E's median error of its first key-frame on the held-out episodes (the chapter's measure, cm), E's median
  error over every held-out key-frame that moves the hand somewhere new (cm), and E's behaviour-cloning loss on every valid
  held-out key-frame (no augmentation);
- the mean training losses L_AU and L_EE over the last ``--every`` steps, and the training steps/s
  (checkpoint time excluded);
- every ``--closed-loop-every`` steps (0: never), E's closed-loop success on the chapter's held-out layouts.

Up to step 1000 the rows should repeat the chapter's convergence table for that seed (same stream and
checkpoints), up to float-sum order. Run on one thread, e.g.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/pilot_mirror_pretraining.py --steps 2000 --every 250
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from sensorimotor.mirror_align.demos import DemoConfig, demonstrations
from sensorimotor.mirror_align.experiments import build_models, closed_loop, initial_spread
from sensorimotor.mirror_align.training import (
    MOVE_WEIGHT,
    MirrorData,
    TrainSpec,
    localisation_errors,
    recognition_accuracy,
    train_mirror,
)
from sensorimotor.profiles import load_chapter_module

CONFIG = Path(__file__).resolve().parents[1] / "replications/mirror_align/config.py"


@torch.no_grad()
def heldout_bc_loss(policy, data: MirrorData, batch_size: int = 256) -> float:
    """E's behaviour-cloning loss averaged over every valid key-frame of ``data`` (no image shift)."""
    policy.eval()
    text = policy.encode_text(list(data.instructions)).cpu()
    ep, ks = np.nonzero(data.key_valid.numpy())
    total, count = 0.0, 0
    for s in range(0, len(ep), batch_size):
        inputs, targets = data.keyframe_batch(ep[s : s + batch_size], ks[s : s + batch_size], text)
        n = len(inputs[0])
        total += float(type(policy).loss(policy, inputs, *targets)) * n  # the class's, not a wrapper
        count += n
    return total / count


def moving_keyframe_error_cm(policy, data: MirrorData) -> float:
    """Median error (cm, table plane) over every held-out key-frame that moves the hand somewhere new (its
    pixel differs from the previous key-frame's by more than a pixel, as training weighs them)."""
    moves = data._weights == MOVE_WEIGHT  # the library's own definition (sample_keyframes)
    errors = []
    for k in range(data.key_obs.shape[1]):
        mask = moves[:, k]
        if mask.any():
            errors.append(localisation_errors(policy, data, k)[mask])
    return 100 * float(np.median(np.concatenate(errors)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0, help="the chapter's seed index (0: its seed 0)")
    parser.add_argument("--closed-loop-every", type=int, default=1000, help="0: no closed-loop success")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cfg = load_chapter_module(CONFIG).mirror_align_config("default")
    device = torch.device("cpu")
    seed = cfg.seed * 100 + args.seed  # as the chapter numbers its seeds
    common = dict(tasks=cfg.tasks, n_steps=cfg.n_steps, video_frames=cfg.video_frames, image_size=cfg.image_size,
                  video_size=cfg.video_size)  # fmt: skip
    t0 = time.perf_counter()
    train_arrays = demonstrations(
        DemoConfig(n_per_instruction=cfg.n_train_per_instruction, first_seed=1000 * cfg.seed, **common)
    )
    test = MirrorData.from_arrays(demonstrations(
        DemoConfig(n_per_instruction=cfg.n_test_per_instruction, first_seed=1000 * cfg.seed + 500, **common)))  # fmt: skip
    eval_config = DemoConfig(
        n_per_instruction=cfg.n_eval_per_instruction, first_seed=1000 * cfg.seed + 700, **common
    )
    train = MirrorData.from_arrays(train_arrays, np.flatnonzero(train_arrays["success"]))
    print(f"data: {len(train)} training, {len(test)} held-out episodes ({time.perf_counter() - t0:.0f} s); "
          f"seed {seed}, {args.steps} steps, batch {cfg.batch_size}, lr U {cfg.pretrain_lr:g} / E {cfg.pretrain_e_lr:g}, "
          f"{torch.get_num_threads()} thread(s)", flush=True)  # fmt: skip

    u, e = build_models(cfg, train.instructions, seed)
    spec = TrainSpec(steps=args.steps, batch_size=cfg.batch_size, lr=cfg.pretrain_lr, e_lr=cfg.pretrain_e_lr,
                     lambda_align=0.0, lambda_ee=cfg.lambda_ee, steps_per_episode=cfg.steps_per_episode,
                     shift=cfg.shift, e_shift=cfg.e_shift)  # fmt: skip
    print(
        f"U's initial feature spread (1 - cos, 16 held-out videos): {initial_spread(u, test.videos[:16]):.2e}"
    )
    header = ("step", "U_heldout%", "U_train%", "E_first_cm", "E_moves_cm", "E_heldout_bc", "L_AU", "L_EE", "steps/s",
              "E_success%")  # fmt: skip
    print(" ".join(f"{h:>12}" for h in header), flush=True)
    losses: dict[str, list[float]] = {"au": [], "ee": []}
    clock = {"last": time.perf_counter(), "in_checkpoints": 0.0, "start": time.perf_counter()}

    def checkpoint(step: int) -> None:
        start = time.perf_counter()
        rate = args.every / (start - clock["last"]) if step else float("nan")  # training steps only
        row = [step, 100 * float(recognition_accuracy(u, test, device).mean()),
               100 * float(recognition_accuracy(u, train, device).mean()),
               100 * float(np.median(localisation_errors(e, test, 0, device=device))),
               moving_keyframe_error_cm(e, test), heldout_bc_loss(e, test)]  # fmt: skip
        if losses["au"]:
            row += [float(np.mean(losses["au"][-args.every :])), float(np.mean(losses["ee"][-args.every :]))]
        else:
            row += [float("nan"), float("nan")]
        row.append(rate)
        success = float("nan")
        if args.closed_loop_every and step and step % args.closed_loop_every == 0:
            success = 100 * float(closed_loop(e, eval_config, device)["success"].mean())
        row.append(success)
        print(f"{row[0]:>12d} " + " ".join(f"{v:>12.3f}" for v in row[1:]), flush=True)
        spent = time.perf_counter() - start
        clock["in_checkpoints"] += spent
        clock["last"] = time.perf_counter()

    checkpoint(0)

    # train_mirror returns its loss history only at the end: the window means at each checkpoint come from
    # thin wrappers that record each training loss as it is computed (they change nothing in training).
    original_au, original_ee = u.contrastive_loss, e.loss

    def au_loss(*a, **k):
        out = original_au(*a, **k)
        losses["au"].append(float(out.detach()))
        return out

    def ee_loss(*a, **k):
        out = original_ee(*a, **k)
        losses["ee"].append(float((out[0] if isinstance(out, tuple) else out).detach()))
        return out

    u.contrastive_loss, e.loss = au_loss, ee_loss
    try:
        history = train_mirror(u, e, None, train, spec, seed, device, stream="pretrain", every=args.every,
                               checkpoint=checkpoint)  # fmt: skip
    finally:
        u.contrastive_loss, e.loss = original_au, original_ee
    total = time.perf_counter() - clock["start"]
    assert len(history["au"]) == args.steps
    print(
        f"wall {total:.0f} s, of which checkpoints {clock['in_checkpoints']:.0f} s; "
        f"training {args.steps / (total - clock['in_checkpoints']):.2f} steps/s",
        flush=True,
    )


if __name__ == "__main__":
    main()
