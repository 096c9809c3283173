"""Float training of the Fashion-MNIST networks (single CPU thread, fixed seed)."""
import math
import time

import numpy as np
import torch
from torch import nn

from . import data


def seed_everything(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)


def to_tensor(images):
    """uint8 [N, 28, 28] -> float [N, 1, 28, 28] in [0, 1] (pixel / 255)."""
    return torch.from_numpy(np.ascontiguousarray(images).copy()).float().div_(255.0).unsqueeze(1)


def augment(x, gen):
    """Random horizontal flip and random shift by up to 2 pixels (zero fill)."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = nn.functional.pad(x, (2, 2, 2, 2))
    dx = torch.randint(0, 5, (n,), generator=gen)
    dy = torch.randint(0, 5, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(5):
        for j in range(5):
            sel = (dy == i) & (dx == j)
            if sel.any():
                out[sel] = padded[sel, :, i:i + 28, j:j + 28]
    return out


@torch.no_grad()
def evaluate(model, images, labels, batch=500):
    """Float top-1 accuracy (fraction) of `model` on uint8 images."""
    model.eval()
    correct = 0
    for i in range(0, len(images), batch):
        logits = model(to_tensor(images[i:i + batch]))
        correct += (logits.argmax(1).numpy() == labels[i:i + batch]).sum()
    return correct / len(images)


def train_classifier(model, *, epochs, lr, weight_decay, optimizer="sgd", batch=128,
                     warmup_epochs=0.0, seed=0, log=print, train_fn=None, augment_data=True):
    """Trains on the Fashion-MNIST training set with a cosine learning-rate schedule.

    `train_fn(model, x)` may replace `model(x)` (used for quantization-aware training).
    Returns the model (in eval mode).
    """
    torch.set_num_threads(1)
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    images, labels = data.load("train")
    x_all, y_all = to_tensor(images), torch.from_numpy(labels)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or "token" in name or "pos_embed" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    else:
        opt = torch.optim.AdamW(groups, lr=lr)
    steps_per_epoch = math.ceil(len(x_all) / batch)
    total = epochs * steps_per_epoch
    warm = int(warmup_epochs * steps_per_epoch)
    step = 0
    run = train_fn or (lambda m, x: m(x))
    for epoch in range(epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(x_all), generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(x_all), batch):
            idx = perm[i:i + batch]
            x, y = x_all[idx], y_all[idx]
            if augment_data:
                x = augment(x, gen)
            if step < warm:
                f = (step + 1) / warm
            else:
                f = 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            for g in opt.param_groups:
                g["lr"] = lr * f
            logits = run(model, x)
            loss = nn.functional.cross_entropy(logits, y)
            if not torch.isfinite(loss):
                raise RuntimeError(f"training diverged (loss {loss.item()}) at epoch "
                                   f"{epoch + 1}, step {step}; lower the learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
        log(f"  epoch {epoch + 1}/{epochs}: loss {loss_sum / len(x_all):.4f} "
            f"train acc {correct / len(x_all):.4f} ({time.time() - t0:.0f} s)")
    model.eval()
    return model
