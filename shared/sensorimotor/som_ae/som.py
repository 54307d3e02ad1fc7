"""A multimodal self-organizing map (Lallée & Dominey 2013, as extended by Jülg et al. 2023, eqs. 2-5).

Every neuron of a ``rows x cols`` grid holds one weight vector per modality. For a sample ``d``:

* per-modality activity (eq. 2): ``a_m = -(c_m / n_m) * sum_j |w_m - d_m|_j`` (weighted mean absolute error);
* combined activity (eq. 3): ``A = sum_m a_m / sum_m c_m`` over the modalities present;
* winner: the neuron of highest ``A``;
* update (eq. 4): ``dw_m = (w_m - d_m) * lr * mu(neuron, winner)`` and ``w_m <- w_m - dw_m``, with a Gaussian
  neighbourhood ``mu = exp(-|grid distance|^2 / (2 sigma^2))`` that decays exponentially with distance;
* mini-batches (eq. 5): the updates of a batch are averaged, which is one matrix product per modality.

A missing modality is predicted as that modality's weights at the winner found from the others. All
tensors live on one device (CPU or CUDA); nothing loops over neurons in Python. Training on the CPU
with small problems (batch x neurons x weights per neuron up to ``NUMPY_MAX_ELEMENTS``, e.g. SOM-AE's
13 weights per neuron, batch 1) runs a NumPy loop over the modalities concatenated, with buffers
allocated once and a separable neighbourhood: per-sample torch dispatch costs more than the arithmetic
there. Both paths compute the same equations (tests pin them to MiniSom's online SOM at batch 1).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from sensorimotor.devices import resolve_device
from sensorimotor.progress import progress_bar
from sensorimotor.seeding import torch_generator

Batch = Mapping[str, "torch.Tensor | np.ndarray"]


class SOMInputError(ValueError):
    """Data or settings that do not fit the map (names the value and what is accepted)."""


def _l1_broadcast(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (x.unsqueeze(1) - w.unsqueeze(0)).abs().sum(-1)


COMPILE_MIN_ELEMENTS = 2**20  # below this many |x - w| terms the compiled call's overhead does not pay
_compiled_l1: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
_compile_failed = False


def l1_distances(x: torch.Tensor, w: torch.Tensor, compiled: bool = False) -> torch.Tensor:
    """Sum of absolute differences between every row of ``x`` (B, n) and of ``w`` (N, n): (B, N).

    ``compiled=True`` uses a ``torch.compile``d broadcast-and-reduce (one fused kernel, no (B, N, n)
    temporary; 3-7x faster than ``torch.cdist(p=1)`` on CPU here) for problems of at least
    ``COMPILE_MIN_ELEMENTS`` terms. If compilation is not possible (no C++ compiler, no Triton), it
    warns once and falls back to ``torch.cdist``.
    """
    global _compiled_l1, _compile_failed
    large = x.shape[0] * w.shape[0] * x.shape[1] >= COMPILE_MIN_ELEMENTS
    if compiled and large and not _compile_failed:
        try:
            if _compiled_l1 is None:
                _compiled_l1 = torch.compile(_l1_broadcast, dynamic=True)
            return _compiled_l1(x, w)
        except Exception as error:  # compiler missing or backend failure: stay correct, just slower
            _compile_failed = True
            warnings.warn(f"torch.compile of the L1 distance failed ({error!r}); using torch.cdist", stacklevel=2)
    return torch.cdist(x.unsqueeze(0), w.unsqueeze(0), p=1.0).squeeze(0)


class MultimodalSOM:
    """A ``rows x cols`` map with one weight matrix ``(rows * cols, n_m)`` per modality ``m``.

    ``compile=True`` computes the activities with a compiled kernel (see :func:`l1_distances`).
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        modality_dims: Mapping[str, int],
        modality_weights: Mapping[str, float] | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        compile: bool = False,
    ) -> None:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (rows, cols)) or rows < 2 or cols < 2:
            raise SOMInputError(f"map size must be at least 2x2 (two ints), got {rows!r}x{cols!r}")
        if not modality_dims:
            raise SOMInputError("modality_dims is empty; give at least one modality, e.g. {'joints': 5}")
        for name, dim in modality_dims.items():
            if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
                raise SOMInputError(f"modality {name!r} has dimension {dim!r}; dimensions must be ints >= 1")
        weights = dict(modality_weights) if modality_weights is not None else dict.fromkeys(modality_dims, 1.0)
        if set(weights) != set(modality_dims):
            missing, extra = sorted(set(modality_dims) - set(weights)), sorted(set(weights) - set(modality_dims))
            raise SOMInputError(
                f"modality_weights must name exactly the modalities {sorted(modality_dims)}; "
                f"missing {missing}, unknown {extra}"
            )
        for name, c in weights.items():
            if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c < 0:
                raise SOMInputError(f"modality weight c[{name!r}] = {c!r}; weights must be finite numbers >= 0")
        if sum(weights.values()) <= 0:
            raise SOMInputError(f"modality weights {weights} sum to 0; at least one must be > 0")
        self.rows, self.cols = rows, cols
        self.modality_dims = dict(modality_dims)
        self.modality_weights = {k: float(v) for k, v in weights.items()}
        self.device = resolve_device(device)
        self.dtype = dtype
        self.compile = bool(compile)
        ys, xs = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
        self.grid = torch.stack([ys.reshape(-1), xs.reshape(-1)], 1).to(self.device, dtype)
        self.weights = {
            name: torch.zeros(self.n_neurons, dim, device=self.device, dtype=dtype) for name, dim in self.modality_dims.items()
        }

    # --------------------------------------------------------------------------------- basics
    @property
    def n_neurons(self) -> int:
        return self.rows * self.cols

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.modality_dims)

    def nbytes(self) -> int:
        """Bytes held by the map's weight tensors (what the paper's 10.5 GB / 33.3 MB compare)."""
        return sum(w.numel() * w.element_size() for w in self.weights.values())

    def __repr__(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in self.modality_dims.items())
        return f"MultimodalSOM({self.rows}x{self.cols}, {dims}, c={self.modality_weights}, device={self.device})"

    # --------------------------------------------------------------------------------- input checks
    def _batch(self, batch: Batch, modalities: Sequence[str] | None = None, check_finite: bool = True) -> dict[str, torch.Tensor]:
        names = tuple(modalities) if modalities is not None else tuple(batch)
        if not names:
            raise SOMInputError(f"no modality given; the map knows {list(self.modalities)}")
        unknown = [n for n in names if n not in self.modality_dims]
        if unknown:
            raise SOMInputError(f"unknown modality {unknown}; the map knows {list(self.modalities)}")
        absent = [n for n in names if n not in batch]
        if absent:
            raise SOMInputError(f"modality {absent} requested but not in the batch (has {sorted(batch)})")
        out, size = {}, None
        for name in names:
            x = torch.as_tensor(batch[name])
            if x.dim() == 1 and self.modality_dims[name] > 1 and x.numel() == self.modality_dims[name]:
                x = x.unsqueeze(0)
            if x.dim() > 2:
                x = x.reshape(len(x), -1)
            if x.dim() != 2 or x.shape[1] != self.modality_dims[name]:
                raise SOMInputError(
                    f"modality {name!r} has shape {tuple(x.shape)}; expected (batch, {self.modality_dims[name]})"
                )
            if size is not None and len(x) != size:
                raise SOMInputError(f"modalities have different batch sizes: {name!r} has {len(x)}, others {size}")
            size = len(x)
            x = x.to(self.device, self.dtype)
            if check_finite and not torch.isfinite(x).all():
                raise SOMInputError(f"modality {name!r} contains NaN or infinite values")
            out[name] = x
        return out

    # --------------------------------------------------------------------------------- eqs. 2-3
    def modality_activity(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Eq. 2 for one modality: ``-(c_m / n_m) * L1(w_m, x)``, shape (batch, neurons)."""
        c, n = self.modality_weights[name], self.modality_dims[name]
        return l1_distances(x, self.weights[name], self.compile).mul_(-c / n)

    def activity(self, batch: Batch, modalities: Sequence[str] | None = None) -> torch.Tensor:
        """Eq. 3: combined activity (batch, neurons) over the given (default: all present) modalities."""
        data = self._batch(batch, modalities)
        return self._activity(data)

    def _activity(self, data: Mapping[str, torch.Tensor]) -> torch.Tensor:
        total_c = sum(self.modality_weights[m] for m in data)
        if total_c <= 0:
            raise SOMInputError(f"modalities {list(data)} all have weight 0; cannot find a winner from them")
        activity = None
        for name, x in data.items():
            if self.modality_weights[name] == 0:
                continue
            a = self.modality_activity(name, x)
            activity = a if activity is None else activity.add_(a)
        assert activity is not None
        return activity.div_(total_c)

    def winners(self, batch: Batch, modalities: Sequence[str] | None = None) -> torch.Tensor:
        """Index of the most active neuron per sample (batch,), from the given modalities."""
        return self.activity(batch, modalities).argmax(1)

    def predict(self, batch: Batch, target: str, modalities: Sequence[str] | None = None) -> torch.Tensor:
        """``target``'s weights at each sample's winner found from ``modalities`` (default: all in batch)."""
        if target not in self.modality_dims:
            raise SOMInputError(f"unknown target modality {target!r}; the map knows {list(self.modalities)}")
        return self.weights[target][self.winners(batch, modalities)]

    # --------------------------------------------------------------------------------- eqs. 4-5
    def neighbourhood(self, winners: torch.Tensor, sigma: float) -> torch.Tensor:
        """Gaussian neighbourhood (batch, neurons) around each winner on the grid."""
        if not sigma > 0:
            raise SOMInputError(f"sigma must be > 0, got {sigma}")
        d2 = (self.grid.unsqueeze(0) - self.grid[winners].unsqueeze(1)).pow_(2).sum(-1)
        return d2.mul_(-0.5 / sigma**2).exp_()

    def update(self, batch: Batch, lr: float, sigma: float) -> torch.Tensor:
        """One mini-batch update with every modality (eqs. 4-5). Returns the winners (batch,)."""
        data = self._batch(batch, self.modalities)
        return self._update(data, lr, sigma)[0]

    def _update(self, data: Mapping[str, torch.Tensor], lr: float, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Checked-data update; returns the winners and the batch's summed quantisation error."""
        if not 0 < lr <= 1:
            raise SOMInputError(f"learning rate must be in (0, 1], got {lr}")
        best, winners = self._activity(data).max(1)
        mu = self.neighbourhood(winners, sigma)  # (B, N)
        if len(winners) == 1:  # eq. 4 alone: w <- w + lr * mu * (d - w), one fused pass over the map
            rate = mu.mul_(lr).T  # (N, 1)
            for name, x in data.items():
                self.weights[name].lerp_(x, rate)
            return winners, -best.sum()
        scale = lr / len(winners)
        keep = 1.0 - scale * mu.sum(0)  # (N,)
        for name, x in data.items():
            # w - (lr/B) sum_s mu_s (w - d_s)  ==  w * (1 - (lr/B) sum_s mu_s) + (lr/B) mu^T D
            self.weights[name].mul_(keep.unsqueeze(1)).addmm_(mu.T, x, alpha=scale)
        return winners, -best.sum()

    # --------------------------------------------------------------------------------- init and state
    def initialise(self, data: Batch, generator: torch.Generator | None = None) -> None:
        """Set every neuron to a randomly drawn training sample (the same sample in every modality)."""
        tensors = self._batch(data, self.modalities)
        n = len(next(iter(tensors.values())))
        index = torch.randint(n, (self.n_neurons,), generator=generator).to(self.device)
        for name, x in tensors.items():
            self.weights[name].copy_(x[index])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {name: w.detach().cpu().clone() for name, w in self.weights.items()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        if set(state) != set(self.weights):
            raise SOMInputError(f"state has modalities {sorted(state)}; the map has {sorted(self.weights)}")
        for name, w in state.items():
            if tuple(w.shape) != tuple(self.weights[name].shape):
                raise SOMInputError(f"state {name!r} has shape {tuple(w.shape)}; expected {tuple(self.weights[name].shape)}")
            self.weights[name].copy_(w.to(self.device, self.dtype))


# ------------------------------------------------------------------------------------- training
@dataclasses.dataclass(frozen=True)
class SOMSchedule:
    """Epochs, batch size, and learning rate / neighbourhood width decaying exponentially per update."""

    epochs: int = 10
    batch_size: int = 16
    lr_start: float = 0.5
    lr_end: float = 0.01
    sigma_start: float = 5.0
    sigma_end: float = 0.5

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise SOMInputError(f"epochs and batch_size must be >= 1, got {self.epochs} and {self.batch_size}")
        for name in ("lr_start", "lr_end"):
            if not 0 < getattr(self, name) <= 1:
                raise SOMInputError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        for name in ("sigma_start", "sigma_end"):
            if not getattr(self, name) > 0:
                raise SOMInputError(f"{name} must be > 0, got {getattr(self, name)}")

    def at(self, progress: float) -> tuple[float, float]:
        """(lr, sigma) at ``progress`` in [0, 1] of training."""
        lr = self.lr_start * (self.lr_end / self.lr_start) ** progress
        sigma = self.sigma_start * (self.sigma_end / self.sigma_start) ** progress
        return lr, sigma


def _read_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclasses.dataclass
class PeakMemory:
    """Peak memory while a block runs: CUDA allocator peak on GPU, peak resident set size on CPU.

    On CPU (Linux) the kernel's high-water mark ``VmHWM`` is reset through ``/proc/self/clear_refs``
    before the block and read after it; ``added_bytes`` is that peak minus the resident size before the
    block (memory the block itself needed). ``None`` where the platform offers neither counter.
    """

    device: torch.device
    method: str = ""
    baseline_bytes: int | None = None
    peak_bytes: int | None = None

    @property
    def added_bytes(self) -> int | None:
        if self.peak_bytes is None or self.baseline_bytes is None:
            return None
        return max(self.peak_bytes - self.baseline_bytes, 0)


@contextlib.contextmanager
def track_peak_memory(device: str | torch.device = "cpu") -> Iterator[PeakMemory]:
    device = resolve_device(device)
    record = PeakMemory(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        record.method = "torch.cuda.max_memory_allocated"
        record.baseline_bytes = torch.cuda.memory_allocated(device)
        yield record
        torch.cuda.synchronize(device)
        record.peak_bytes = torch.cuda.max_memory_allocated(device)
        return
    rss = _read_status_kib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        resettable = rss is not None
    except OSError:
        resettable = False
    record.method = "process peak RSS (VmHWM after clear_refs)" if resettable else "unavailable"
    record.baseline_bytes = rss * 1024 if resettable and rss is not None else None
    yield record
    if resettable:
        peak = _read_status_kib("VmHWM")
        record.peak_bytes = peak * 1024 if peak is not None else None


NUMPY_MAX_ELEMENTS = 2**17  # CPU training with batch * neurons * weights up to this runs the NumPy loop


def _numpy_epochs(
    som: MultimodalSOM,
    tensors: Mapping[str, torch.Tensor],
    schedule: SOMSchedule,
    orders: Iterator[np.ndarray],
    on_epoch: Callable[[int, float], None],
) -> list[float]:
    """Eqs. 2-5 in NumPy on the concatenated modalities; returns the per-epoch summed quantisation error.

    The map is held transposed, ``W`` (weights per neuron, neurons), so every operation runs along the
    neurons. The activity of eq. 3 is ``-s @ |W - x|`` with ``s_j = c_m / (n_m * sum_m c_m)`` for every
    weight ``j`` of modality ``m``; the Gaussian neighbourhood factorises into a row and a column term.
    """
    names = som.modalities
    dtype = np.float32 if som.dtype == torch.float32 else np.float64
    data = np.ascontiguousarray(np.concatenate([tensors[m].numpy() for m in names], axis=1), dtype=dtype)
    weights = np.ascontiguousarray(np.concatenate([som.weights[m].numpy() for m in names], axis=1).T, dtype=dtype)
    total_c = sum(som.modality_weights.values())
    column_scale = np.concatenate(
        [np.full(som.modality_dims[m], som.modality_weights[m] / (som.modality_dims[m] * total_c)) for m in names]
    ).astype(dtype)
    n, rows, cols, batch_size = len(data), som.rows, som.cols, schedule.batch_size
    steps = math.ceil(n / batch_size)
    total = schedule.epochs * steps
    progress = np.arange(total) / max(total - 1, 1)
    lrs = (schedule.lr_start * (schedule.lr_end / schedule.lr_start) ** progress).tolist()
    sigmas = schedule.sigma_start * (schedule.sigma_end / schedule.sigma_start) ** progress
    widths = (-0.5 / sigmas**2).tolist()  # exp(width * squared grid distance) is the neighbourhood
    row_d2 = ((np.arange(rows)[:, None] - np.arange(rows)[None, :]) ** 2).astype(dtype)  # [winner row] -> (rows,)
    col_d2 = ((np.arange(cols)[:, None] - np.arange(cols)[None, :]) ** 2).astype(dtype)
    diff = np.empty_like(weights)
    absdiff = np.empty_like(weights)
    exp, multiply, subtract, outer = np.exp, np.multiply, np.subtract, np.multiply.outer
    errors, step = [], 0
    for order in orders:
        epoch_error = 0.0
        if batch_size == 1:
            for i in order.tolist():
                subtract(weights, data[i][:, None], out=diff)
                np.abs(diff, out=absdiff)
                activity = column_scale @ absdiff  # minus eq. 3, (neurons,)
                winner = int(activity.argmin())
                epoch_error += float(activity[winner])
                r, c = divmod(winner, cols)
                k = widths[step]
                mu = outer(exp(row_d2[r] * k) * lrs[step], exp(col_d2[c] * k)).reshape(-1)
                multiply(diff, mu, out=diff)  # lr * mu * (w - d)   (eq. 4)
                subtract(weights, diff, out=weights)
                step += 1
        else:
            for start in range(0, n, batch_size):
                x = data[order[start : start + batch_size]]  # (B, weights)
                activity = np.tensordot(column_scale, np.abs(weights[:, None, :] - x.T[:, :, None]), 1)  # (B, N)
                winners = activity.argmin(1)
                epoch_error += float(activity[np.arange(len(x)), winners].sum())
                r, c = np.divmod(winners, cols)
                k = widths[step]
                mu = (exp(row_d2[r] * k)[:, :, None] * exp(col_d2[c] * k)[:, None, :]).reshape(len(x), -1)
                scale = lrs[step] / len(x)
                weights *= 1.0 - scale * mu.sum(0)  # eq. 5, as in MultimodalSOM._update
                weights += x.T @ (scale * mu).astype(dtype)
                step += 1
        errors.append(epoch_error)
        on_epoch(steps, epoch_error)
    offset = 0
    for m in names:
        dim = som.modality_dims[m]
        som.weights[m].copy_(torch.from_numpy(weights[offset : offset + dim].T))
        offset += dim
    return errors


def uses_numpy_loop(som: MultimodalSOM, batch_size: int) -> bool:
    """Whether :func:`train_som` trains ``som`` at ``batch_size`` with the NumPy loop (small CPU problems)."""
    elements = batch_size * som.n_neurons * sum(som.modality_dims.values())
    return som.device.type == "cpu" and som.dtype in (torch.float32, torch.float64) and elements <= NUMPY_MAX_ELEMENTS


def train_som(
    som: MultimodalSOM,
    data: Batch,
    schedule: SOMSchedule,
    seed: int = 0,
    initialise: bool = True,
    progress: bool = True,
    desc: str = "SOM",
    backend: str = "auto",
) -> dict[str, object]:
    """Train on ``data`` (every modality, same number of samples) with mini-batch updates (eq. 5).

    Data are checked once, moved to the map's device, shuffled each epoch with
    ``torch_generator(seed, "som-shuffle")``. Returns per-epoch mean quantisation error (minus the
    winners' combined activity, before their update), wall seconds of the training loop (after a
    one-batch warm-up that compiles kernels), updates and peak memory. ``backend`` "auto" picks the NumPy
    loop for small CPU problems (:func:`uses_numpy_loop`); "torch" forces the torch loop (one code path
    for timings across map sizes).
    """
    if backend not in ("auto", "torch"):
        raise SOMInputError(f"backend={backend!r}; accepted: auto, torch")
    tensors = som._batch(data, som.modalities)
    n = len(next(iter(tensors.values())))
    if n < 1:
        raise SOMInputError("training data is empty")
    if initialise:
        som.initialise(tensors, torch_generator(seed, "som-init"))
    shuffle = torch_generator(seed, "som-shuffle")
    steps = math.ceil(n / schedule.batch_size)
    total = schedule.epochs * steps
    errors: list[float] = []
    bar = progress_bar(total=total, desc=desc, unit="batch", progress=progress)
    step = 0
    numpy_loop = backend == "auto" and uses_numpy_loop(som, schedule.batch_size)
    if not numpy_loop:
        # warm-up outside the timed loop: kernel compilation (compile=True) and CUDA start-up; changes nothing
        som._activity({name: x[: schedule.batch_size] for name, x in tensors.items()})
    with track_peak_memory(som.device) as memory:
        start = time.perf_counter()
        if numpy_loop:
            orders = (torch.randperm(n, generator=shuffle).numpy() for _ in range(schedule.epochs))

            def on_epoch(done: int, error: float) -> None:
                bar.update(done)
                bar.set_postfix(qe=f"{error / n:.4f}")

            errors = [e / n for e in _numpy_epochs(som, tensors, schedule, orders, on_epoch)]
        for _ in range(0 if numpy_loop else schedule.epochs):
            order = torch.randperm(n, generator=shuffle).to(som.device)
            epoch_error = torch.zeros((), device=som.device, dtype=som.dtype)
            for i in range(steps):
                index = order[i * schedule.batch_size : (i + 1) * schedule.batch_size]
                batch = {name: x[index] for name, x in tensors.items()}
                lr, sigma = schedule.at(step / max(total - 1, 1))
                _, error = som._update(batch, lr, sigma)
                epoch_error += error
                step += 1
                bar.update()
            errors.append(float(epoch_error) / n)
            bar.set_postfix(qe=f"{errors[-1]:.4f}")
        if som.device.type == "cuda":
            torch.cuda.synchronize(som.device)
        seconds = time.perf_counter() - start
    bar.close()
    return {
        "quantisation_error": errors,
        "backend": "numpy" if numpy_loop else "torch",
        "seconds": seconds,
        "updates": total,
        "samples_per_second": schedule.epochs * n / seconds,
        "peak_memory_bytes": memory.peak_bytes,
        "added_memory_bytes": memory.added_bytes,
        "memory_method": memory.method,
        "map_bytes": som.nbytes(),
    }


# ------------------------------------------------------------------------------------- evaluation
def mapping_errors(
    som: MultimodalSOM,
    inputs: Batch,
    truths: Mapping[str, torch.Tensor | np.ndarray],
    to_eval: Mapping[str, Callable[[torch.Tensor], torch.Tensor]] | None = None,
    batch_size: int = 1024,
) -> dict[tuple[str, str], np.ndarray]:
    """Per-sample mean absolute error of every mapping source -> target.

    ``inputs`` are samples in the map's space (e.g. scaled latent codes); ``truths`` the same samples in
    the space the error is measured in (e.g. pixels). ``to_eval[target]`` maps predicted weights into that
    space (e.g. decode latents to images); identity where absent. Returns ``{(source, target): (N,)}``.
    """
    to_eval = dict(to_eval or {})
    data = som._batch(inputs, som.modalities)
    n = len(next(iter(data.values())))
    out: dict[tuple[str, str], list[np.ndarray]] = {}
    for source in som.modalities:
        for start in range(0, n, batch_size):
            chunk = {source: data[source][start : start + batch_size]}
            winners = som._activity(chunk).argmax(1)
            for target in som.modalities:
                predicted = som.weights[target][winners]
                if target in to_eval:
                    predicted = to_eval[target](predicted)
                truth = torch.as_tensor(truths[target][start : start + batch_size]).to(predicted.device, predicted.dtype)
                err = (predicted.reshape(len(truth), -1) - truth.reshape(len(truth), -1)).abs().mean(1)
                out.setdefault((source, target), []).append(err.cpu().numpy())
    return {key: np.concatenate(parts) for key, parts in out.items()}


def nearest_neighbour_predict(
    train_source: torch.Tensor, train_target: torch.Tensor, query: torch.Tensor, k: int = 1, batch_size: int = 512
) -> torch.Tensor:
    """Reference: mean target of the ``k`` training samples nearest (Euclidean) to each query's source."""
    train_source = torch.as_tensor(train_source).float().reshape(len(train_source), -1)
    train_target = torch.as_tensor(train_target).float()
    query = torch.as_tensor(query).float().reshape(len(query), -1)
    if train_source.shape[1] != query.shape[1]:
        raise SOMInputError(f"query has {query.shape[1]} features; the training set has {train_source.shape[1]}")
    if not 1 <= k <= len(train_source):
        raise SOMInputError(f"k must be in [1, {len(train_source)}], got {k}")
    parts = []
    for start in range(0, len(query), batch_size):
        distances = torch.cdist(query[start : start + batch_size], train_source)
        index = distances.topk(k, dim=1, largest=False).indices  # (b, k)
        parts.append(train_target[index].mean(1))
    return torch.cat(parts)



def structural_similarity(predicted: torch.Tensor, truth: torch.Tensor, window: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Per-image SSIM (Wang et al. 2004; Gaussian window, images in [0, 1]) of (N, H, W) batches."""
    predicted = torch.as_tensor(predicted, dtype=torch.float32)
    truth = torch.as_tensor(truth, dtype=torch.float32)
    if predicted.shape != truth.shape or predicted.dim() != 3:
        raise SOMInputError(f"need two image batches (N, H, W) of one shape, got {tuple(predicted.shape)} and {tuple(truth.shape)}")
    offsets = torch.arange(window, dtype=torch.float32) - (window - 1) / 2
    g = torch.exp(-(offsets**2) / (2 * sigma**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(1, 1, window, window)
    x, y = predicted.unsqueeze(1), truth.unsqueeze(1)

    def blur(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(z, kernel)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return ssim_map.mean(dim=(1, 2, 3)).numpy()


def pose_consistency(
    imagined: torch.Tensor, train_images: torch.Tensor, train_joints: torch.Tensor, query_joints: torch.Tensor
) -> np.ndarray:
    """Per-sample pose error of imagined images: which pose does each image show, and is it the query's?

    The pose an image shows is read off the joints of its nearest (Euclidean) training image; the error
    is the mean absolute difference between those joints and the query's (N,). Lower is better: the
    nearest training image of the query pose scores near 0, one fixed image for every query (the mean
    image) scores about the spread of the poses. Identical imagined images (a map's neurons) are
    looked up once.
    """
    imagined = torch.as_tensor(imagined).float().reshape(len(imagined), -1)
    query_joints = torch.as_tensor(query_joints).float()
    if len(query_joints) != len(imagined):
        raise SOMInputError(f"{len(imagined)} imagined images but {len(query_joints)} query poses")
    unique, inverse = torch.unique(imagined, dim=0, return_inverse=True)
    shown = nearest_neighbour_predict(train_images, train_joints, unique, k=1)
    return (shown[inverse] - query_joints).abs().mean(1).numpy()
