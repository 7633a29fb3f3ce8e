#!/usr/bin/env python3
"""Plain-PyTorch twin of `kas train --model resnet18|cnn` (no torchvision, no downloads).

Trains the same CIFAR-style ResNet-18 (or the small CNN) with the same recipe as kas, on the
same IDX files that `kas data fetch` installed, so that kas's training can be compared with the
framework its users know:

- data: (Fashion-)MNIST IDX files (gzip) from DATA_DIR/<name>/; pixels / 255, replicated to the
  model's channels, resized bilinearly (no corner alignment) to the model's input side; training
  batches shuffled per epoch, last incomplete batch dropped, augmented with a random crop after
  zero padding of side/8 pixels and a random horizontal flip; both splits normalised with the
  training set's per-channel mean and (population) standard deviation;
- model: 3x3 stem + BN + ReLU (no max pooling), 4 stages of 2 basic blocks (w, 2w, 4w, 8w
  channels); a stage's first block halves the resolution with 2x2 average pooling before its
  first 3x3 convolution (stride 1), and its shortcut is a 1x1 stride-2 convolution + BN; global
  average pooling, linear classifier. Convolutions have no bias. Initialisation as tch's
  defaults: Kaiming-uniform (fan-in, ReLU gain) weights for convolutions and linear layers,
  linear bias uniform in +-1/sqrt(fan-in), BN weight 1 and bias 0;
- optimiser: SGD, Nesterov momentum 0.9, weight decay 5e-4 on every parameter, learning rate set
  before every step to lr * (1 + cos(pi * step / total_steps)) / 2; cross-entropy loss;
- evaluation: test accuracy after every epoch (evaluation mode, batch = training batch).

Prints per-epoch test accuracy, seconds per epoch (training steps only) and images/s, and a final
line in kas's format:  test accuracy 91.23% after 5 epochs (12.3 s/epoch, 4870 images/s)

Run on the GPU machine with /opt/torch/.venv/bin/python (torch 2.11).
"""

import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- data


def read_idx(path):
    """An unsigned-byte IDX array from a gzip file, as a uint8 tensor."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, kind, rank = struct.unpack(">HBB", raw[:4])
    if zero != 0 or kind != 0x08:
        sys.exit(f"error: {path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * rank, raw[4 : 4 + 4 * rank])
    body = raw[4 + 4 * rank :]
    if len(body) != math.prod(dims):
        sys.exit(f"error: {path}: {len(body)} bytes of data for dimensions {dims}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


def load_split(folder, prefix):
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
    if images.ndim != 3 or labels.shape != (images.shape[0],):
        sys.exit(f"error: {folder}: {prefix} images {images.shape} and labels {labels.shape} disagree")
    return images.unsqueeze(1), labels.long()


class Batches:
    """Training or test batches prepared on the device, as kas prepares them."""

    def __init__(self, images, labels, mean, std, size, channels, batch, device):
        self.images = images.to(device)
        self.labels = labels.to(device)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.size, self.channels, self.batch, self.device = size, channels, batch, device

    def prepare(self, idx, gen):
        x = self.images[idx].float() / 255.0
        b, c, h, w = x.shape
        if c != self.channels:
            x = x.expand(b, self.channels, h, w).contiguous()
        if h != self.size or w != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        if gen is not None:
            x = augment(x, self.size // 8, gen)
        return (x - self.mean) / self.std, self.labels[idx]

    def train_epoch(self, seed, epoch):
        n = self.images.shape[0]
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=gen).to(self.device)
        for i in range(n // self.batch):
            idx = order[i * self.batch : (i + 1) * self.batch]
            yield self.prepare(idx, gen)

    def test(self):
        n = self.images.shape[0]
        for start in range(0, n, self.batch):
            idx = torch.arange(start, min(start + self.batch, n), device=self.device)
            yield self.prepare(idx, None)


def augment(x, pad, gen):
    """Random crop after zero padding by `pad`, then random horizontal flip, per image."""
    b, c, s, _ = x.shape
    dev = x.device
    if pad > 0:
        offsets = torch.randint(0, 2 * pad + 1, (2, b), generator=gen).to(dev)
        span = torch.arange(s, device=dev)
        rows = (offsets[0].view(b, 1, 1) + span.view(1, s, 1)).expand(b, s, s)
        cols = (offsets[1].view(b, 1, 1) + span.view(1, 1, s)).expand(b, s, s)
        padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1)
        batch = torch.arange(b, device=dev).view(b, 1, 1).expand(b, s, s)
        x = padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()
    flips = (torch.rand(b, generator=gen) < 0.5).to(dev).view(b, 1, 1, 1)
    return torch.where(flips, x.flip(3), x)


# ----------------------------------------------------------------------------- model


def conv(c_in, c_out, k, stride=1):
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False)


class Block(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.pool = c_in != c_out
        self.conv1, self.bn1 = conv(c_in, c_out, 3), nn.BatchNorm2d(c_out)
        self.conv2, self.bn2 = conv(c_out, c_out, 3), nn.BatchNorm2d(c_out)
        self.shortcut = (
            nn.Sequential(conv(c_in, c_out, 1, stride=2), nn.BatchNorm2d(c_out)) if self.pool else None
        )

    def forward(self, x):
        h = F.avg_pool2d(x, 2) if self.pool else x
        y = F.relu(self.bn1(self.conv1(h)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet18(nn.Module):
    def __init__(self, width, channels, classes):
        super().__init__()
        self.stem, self.stem_bn = conv(channels, width, 3), nn.BatchNorm2d(width)
        blocks, c = [], width
        for stage in range(4):
            c_out = width << stage
            for _ in range(2):
                blocks.append(Block(c, c_out))
                c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Cnn(nn.Module):
    """kas's small CNN: stem, then slots w->w; pool; w->2w, 2w->2w; pool; 2w->4w."""

    def __init__(self, width, channels, classes):
        super().__init__()
        w = width
        self.stem, self.stem_bn = conv(channels, w, 3), nn.BatchNorm2d(w)
        plan = [(w, w, False), (w, 2 * w, True), (2 * w, 2 * w, False), (2 * w, 4 * w, True)]
        self.pools = [p for _, _, p in plan]
        self.convs = nn.ModuleList(conv(a, b, 3) for a, b, _ in plan)
        self.bns = nn.ModuleList(nn.BatchNorm2d(b) for _, b, _ in plan)
        self.fc = nn.Linear(4 * w, classes)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        for pool, c, bn in zip(self.pools, self.convs, self.bns):
            if pool:
                x = F.avg_pool2d(x, 2)
            x = F.relu(bn(c(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def init_like_tch(model):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                bound = 1.0 / math.sqrt(m.weight.shape[1])
                nn.init.uniform_(m.bias, -bound, bound)


# ----------------------------------------------------------------------------- training


def channel_stats(images):
    x = images.double() / 255.0
    return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3), unbiased=False).tolist()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def accuracy(model, data):
    model.eval()
    correct, total = torch.zeros((), dtype=torch.int64, device=data.device), 0
    with torch.no_grad():
        for x, y in data.test():
            correct += (model(x).argmax(-1) == y).sum()
            total += y.shape[0]
    model.train()
    return correct.item() / total


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="resnet18", choices=["resnet18", "cnn"])
    p.add_argument("--data", default="fashion-mnist", choices=["fashion-mnist", "mnist"])
    p.add_argument("--data-dir", default=None, help="default $KAS_HOME/data (~/.cache/kas/data)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps instead")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    p.add_argument("--width", type=int, default=None, help="first-stage channels (64 / 32)")
    p.add_argument("--image", type=int, default=None, help="input side (64 / 28)")
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument("--limit-test", type=int, default=None)
    p.add_argument("--out", default=None, help="write result.json into this folder")
    a = p.parse_args()

    resnet = a.model == "resnet18"
    width = a.width or (64 if resnet else 32)
    size = a.image or (64 if resnet else 28)
    channels = 3 if resnet else 1
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    data_dir = a.data_dir or os.path.join(os.environ.get("KAS_HOME", os.path.expanduser("~/.cache/kas")), "data")
    folder = os.path.join(data_dir, a.data)
    if not os.path.isdir(folder):
        sys.exit(f"error: dataset {a.data} not found in {data_dir}: run `kas data fetch {a.data}`")
    train_x, train_y = load_split(folder, "train")
    test_x, test_y = load_split(folder, "t10k")
    if a.limit_train:
        train_x, train_y = train_x[: a.limit_train], train_y[: a.limit_train]
    if a.limit_test:
        test_x, test_y = test_x[: a.limit_test], test_y[: a.limit_test]
    mean, std = channel_stats(train_x)
    mean, std = mean * channels if len(mean) == 1 else mean, std * channels if len(std) == 1 else std
    train = Batches(train_x, train_y, mean, std, size, channels, a.batch, device)
    test = Batches(test_x, test_y, mean, std, size, channels, a.batch, device)

    torch.manual_seed(a.seed)
    model = (ResNet18 if resnet else Cnn)(width, channels, 10)
    init_like_tch(model)
    model = model.to(device)
    params = sum(t.numel() for t in model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    per_epoch = train_x.shape[0] // a.batch
    total = a.steps if a.steps else a.epochs * per_epoch
    print(
        f"{a.model} on {a.data} ({device}, torch {torch.__version__}, cudnn.benchmark "
        f"{torch.backends.cudnn.benchmark}, cudnn.allow_tf32 {torch.backends.cudnn.allow_tf32}, "
        f"NVIDIA_TF32_OVERRIDE={os.environ.get('NVIDIA_TF32_OVERRIDE')}): {params} parameters, "
        f"{total} steps",
        flush=True,
    )

    step, epoch, images, train_seconds, history = 0, 0, 0, 0.0, []
    model.train()
    while step < total:
        sync(device)
        t0 = time.perf_counter()
        loss_sum, loss_n = torch.zeros((), device=device, dtype=torch.float64), 0
        for x, y in train.train_epoch(a.seed, epoch):
            if step >= total:
                break
            for g in opt.param_groups:
                g["lr"] = a.lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            loss_n += 1
            step += 1
            images += y.shape[0]
        sync(device)
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        epoch += 1
        train_loss = loss_sum.item() / max(loss_n, 1)
        if not math.isfinite(train_loss):
            print(f"diverged after {step} steps: training loss became {train_loss}")
            return 1
        acc = accuracy(model, test)
        history.append({"epoch": step / per_epoch, "step": step, "train_loss": train_loss, "metric": acc})
        print(
            f"epoch {epoch}: train loss {train_loss:.4f}, test accuracy {100 * acc:.2f}%, "
            f"{seconds:.1f} s, {loss_n * a.batch / seconds:.0f} images/s",
            flush=True,
        )
    epochs = step / per_epoch
    budget = f"{a.steps} steps" if a.steps else f"{a.epochs} epoch{'' if a.epochs == 1 else 's'}"
    summary = (
        f"test accuracy {100 * history[-1]['metric']:.2f}% after {budget} "
        f"({train_seconds / epochs:.1f} s/epoch, {images / train_seconds:.0f} images/s)"
    )
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "result.json"), "w") as f:
            json.dump(
                {
                    "command": "pytorch-twin",
                    "model": a.model,
                    "data": a.data,
                    "seed": a.seed,
                    "device": str(device),
                    "torch": torch.__version__,
                    "tf32_override": os.environ.get("NVIDIA_TF32_OVERRIDE"),
                    "params": params,
                    "accuracy": history[-1]["metric"],
                    "train_seconds": train_seconds,
                    "samples_per_sec": images / train_seconds,
                    "steps": step,
                    "epochs": epochs,
                    "history": history,
                    "summary": summary,
                },
                f,
                indent=2,
            )
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
