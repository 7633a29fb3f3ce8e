#!/usr/bin/env python3
"""A stranger's test of kas's PyTorch export: plain PyTorch, nothing of kas but the bundles.

For every bundle folder given (written by `kas export OP --pytorch`):

1. builds and loads it (its Python module calls torch.utils.cpp_extension.load);
2. checks kas's forward and backward (gradients w.r.t. the input and every weight) at f32
   against a float64 reference at a batch that takes several kernel slices: for syno-op2 an
   einsum written here from the formula in the bundle's README; for any other operator the
   formula the bundle ships (`reference`, plain PyTorch indexing) — relative Frobenius error
   at most 1e-4 at f32/tf32 (3e-2 at bf16);
3. builds a ResNet-18 (defined here, torchvision's layout with a CIFAR stem), replaces every
   stride-1 3x3 convolution whose shape the bundle exports with the bundle's layer (initialised
   from the bundle's trained weights where it has them), and trains it for some steps on a
   fixed synthetic dataset: the loss must decrease and stay finite.

Prints PASS/FAIL lines and exits 1 if anything failed.

    python experiments/pytorch/stranger_resnet18.py BUNDLE_DIR [BUNDLE_DIR ...] [--steps 50]
"""

import argparse
import importlib.util
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

FAILED = []


def report(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILED.append(what)
    return ok


def load_bundle(folder):
    """The bundle's Python module (the one .py that is not the formula)."""
    names = [f for f in os.listdir(folder) if f.endswith(".py") and not f.endswith("_formula.py")]
    if len(names) != 1:
        raise SystemExit(f"{folder}: expected one Python module of a kas --pytorch export, found {names}")
    name = names[0][:-3]
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, names[0]))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------
# Syno's Operator 2, written from its README formula:
#   out[n, o, h, w] = sum_{g, c, a, b, m} in[n, g*Cg + c, (h + a - 1 + 1) mod H, w + b - 1]
#                                         * w1[g*Cg + c, b, m] * w2[g, a, o, m]
# with zero padding where h + a - 1 or w + b - 1 leaves [0, H).
def syno_op2_einsum(x, w1, w2):
    n, c_in, h, w = x.shape
    groups, k, c_out, m = w2.shape
    shifted = torch.roll(x, shifts=-1, dims=2)  # row i holds row (i + 1) mod H
    padded = F.pad(shifted, (1, 1, 1, 1))
    patches = padded.unfold(2, k, 1).unfold(3, k, 1)  # [n, C, H, W, a, b]
    patches = patches.reshape(n, groups, c_in // groups, h, w, k, k)
    b_weight = w1.reshape(groups, c_in // groups, k, m)
    t = torch.einsum("ngchwab,gcbm->nghwam", patches, b_weight)
    return torch.einsum("nghwam,gaom->nohw", t, w2)


def rel_err(got, want):
    return float((got.double() - want.double()).norm() / want.double().norm().clamp_min(1e-30))


def check_numerics(mod, device):
    """Forward and backward of the bundle's kernels against a float64 reference."""
    tol = 3e-2 if mod.PRECISION == "bf16" else 1e-4
    # The smallest exported shape, at a batch that takes several slices of the kernels.
    shape = min(mod.SHAPES, key=lambda s: _numel(mod.SHAPES[s]["input"]) * _numel(mod.SHAPES[s]["output"]))
    batch = mod.BUCKETS[-2] + 1 if len(mod.BUCKETS) > 1 else 3
    info = mod.SHAPES[shape]
    gen = torch.Generator(device="cpu").manual_seed(1)
    x = torch.randn([batch] + info["input"][1:], generator=gen)
    ws = [(torch.rand(s, generator=gen) * 2 - 1) * info["init_bound"] for s in info["weights"]]
    g = torch.randn([batch] + info["output"][1:], generator=gen)

    # kas's kernels.
    xk = x.to(device, mod.DTYPE).requires_grad_()
    wk = [w.to(device, mod.DTYPE).requires_grad_() for w in ws]
    y = mod.operator(shape, xk, *wk)
    y.backward(g.to(device, mod.DTYPE))
    torch.cuda.synchronize()

    # The reference, in float64.
    x64 = x.to(device, torch.float64).requires_grad_()
    w64 = [w.to(device, torch.float64).requires_grad_() for w in ws]
    if mod.NAME == "syno-op2":
        label = "this script's einsum"
        ref = syno_op2_einsum(x64, *w64)
        # The bundle's formula on the first sample (its memory grows with outputs x terms).
        with torch.no_grad():
            formula = mod.reference(shape, x64[:1], *w64)
            err = rel_err(formula, ref[:1])
        report(err < 1e-10, f"{mod.NAME}: the bundle's formula agrees with this script's einsum ({err:.1e})")
    else:
        label = "the bundle's formula"
        # One sample at a time: the formula's memory grows with outputs x summed terms.
        ref = torch.cat([mod.reference(shape, x64[i : i + 1], *w64) for i in range(batch)])
    ref.backward(g.to(device, torch.float64))
    source = ["kas kernels" if k else "the bundle's formula fallback" for k in mod.formula.KERNEL_GRADIENTS]
    checks = [("forward (kas kernels)", y, ref)] + [
        (f"gradient w.r.t. {'the input' if t == 0 else f'w{t}'} ({source[t]})", got.grad, want.grad)
        for t, (got, want) in enumerate(zip([xk] + wk, [x64] + w64))
    ]
    for what, got, want in checks:
        err = rel_err(got, want)
        report(err <= tol, f"{mod.NAME} {what} at {mod.PRECISION}, shape {shape!r}, batch {batch}: "
               f"relative error {err:.2e} vs {label} (tolerance {tol:g})")


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


# ---------------------------------------------------------------------------------------------
# ResNet-18: torchvision's BasicBlock layout, CIFAR stem (3x3 conv, no max-pool).
class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, c = [], 64
        for i, width in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(c, width, stride), BasicBlock(width, width, 1)))
            c = width
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def swap_convs(model, mod, image):
    """Replaces every stride-1 3x3 convolution the bundle has a shape for; returns the names."""
    trained = {}
    path = os.path.join(os.path.dirname(mod.__file__), "weights.safetensors")
    if os.path.exists(path):
        trained = mod.load_safetensors(path)
    swapped, from_trained = [], 0
    sizes = {}

    def record(name):
        def hook(module, inputs, output):
            sizes[name] = (list(inputs[0].shape[1:]), list(output.shape[1:]))
        return hook

    hooks = [m.register_forward_hook(record(n)) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, image, image))
    for h in hooks:
        h.remove()
    for name, conv in list(model.named_modules()):
        if not (isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3) and conv.stride == (1, 1)):
            continue
        shape = mod.find_shape(*sizes[name])
        if shape is None:
            continue
        layer = mod.Operator(shape)
        keys = [f"{name}.w{t}" for t in range(1, len(layer.weights()) + 1)]
        if all(k in trained and list(trained[k].shape) == list(w.shape) for k, w in zip(keys, layer.weights())):
            with torch.no_grad():
                for k, w in zip(keys, layer.weights()):
                    w.copy_(trained[k].to(w.dtype))
            from_trained += 1
        parent = model.get_submodule(name.rsplit(".", 1)[0])
        setattr(parent, name.rsplit(".", 1)[1], layer)
        swapped.append(name)
    return swapped, from_trained


def image_size(mod):
    """The input resolution at which layer1 of this ResNet-18 (64 channels) has an exported shape."""
    for info in mod.SHAPES.values():
        if info["input"][1] == 64 and info["output"][1] == 64:
            return info["input"][-1]
    return 32


def train(mod, device, steps, batch):
    image = image_size(mod)
    torch.manual_seed(0)
    model = ResNet18()
    swapped, from_trained = swap_convs(model, mod, image)
    if not report(len(swapped) > 0, f"{mod.NAME}: {len(swapped)} 3x3 convolutions of ResNet-18 at {image}x{image} "
                  f"replaced by kas layers ({from_trained} from the bundle's trained weights): {', '.join(swapped)}"):
        return
    model = model.to(device)
    if mod.DTYPE != torch.float32:
        model = model.to(mod.DTYPE)
    # A fixed synthetic dataset with learnable labels: the class of an image is the template
    # it correlates with most.
    gen = torch.Generator(device="cpu").manual_seed(2)
    templates = torch.randn(10, 3, image, image, generator=gen)
    data = torch.randn(4 * batch, 3, image, image, generator=gen)
    labels = torch.einsum("nchw,kchw->nk", data, templates).argmax(1)
    data = (data + 0.5 * templates[labels]).to(device, mod.DTYPE)
    labels = labels.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    kas_weights = [p for n, p in model.named_parameters() if any(n.startswith(s + ".w") for s in swapped)]
    before = [p.detach().clone() for p in kas_weights]
    losses = []
    start = time.time()
    for step in range(steps):
        i = (step % 4) * batch
        loss = F.cross_entropy(model(data[i : i + batch]).float(), labels[i : i + batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss))
        if step % 10 == 0 or step == steps - 1:
            print(f"  {mod.NAME} step {step:3d}: loss {losses[-1]:.4f}", flush=True)
    torch.cuda.synchronize()
    elapsed = time.time() - start
    k = max(1, steps // 5)
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    report(all(l == l and abs(l) != float("inf") for l in losses), f"{mod.NAME}: every loss finite")
    report(last < 0.8 * first, f"{mod.NAME}: ResNet-18 training loss decreased from {first:.4f} (first {k} steps) "
           f"to {last:.4f} (last {k}) in {steps} steps of batch {batch} ({elapsed:.1f} s)")
    moved = sum(float((p.detach() - b).abs().max()) > 0 for p, b in zip(kas_weights, before))
    report(moved == len(kas_weights), f"{mod.NAME}: {moved}/{len(kas_weights)} kas weights updated by their gradients")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundles", nargs="+", help="folders written by `kas export OP --pytorch`")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=50, help="training batch (any size: the kernels slice it)")
    parser.add_argument("--slow-batch", type=int, default=8,
                        help="training batch for a bundle whose backward uses the formula fallback for some tensor")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("FAIL no CUDA device: the exported kernels need a GPU")
        return 1
    device = torch.device("cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for folder in args.bundles:
        mod = load_bundle(folder)
        print(f"== {mod.NAME} from {folder} ({mod.PRECISION}; shapes {', '.join(mod.SHAPES)}; buckets {mod.BUCKETS})")
        start = time.time()
        mod.load()
        print(f"  built and loaded the extension in {time.time() - start:.1f} s")
        slow = [t for t, k in enumerate(mod.formula.KERNEL_GRADIENTS) if not k]
        for t in slow:
            print(f"  note: tensor {t} has no gradient kernels ({mod.formula.NO_KERNEL_REASONS[t]}); its gradient "
                  "comes from the bundle's formula (slow)")
        check_numerics(mod, device)
        train(mod, device, args.steps, min(args.batch, args.slow_batch) if slow else args.batch)
    print("ALL PASSED" if not FAILED else f"{len(FAILED)} FAILED")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
