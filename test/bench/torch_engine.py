"""PyTorch eager CPU baseline for `npm run bench:engine` (test/src/bench/engine.ts).

Usage (model kinds mlp, lenet, transformer, causal-lm): python torch_engine.py '{"model": {"kind": "mlp", "sizes": [784, 400, 400, 10]},
        "optimizer": "sgd" | "adam", "batch": 128, "lr": 0.01, "threads": 2, "seconds": 1.5, "device": "cpu" | "cuda:0", "amp": null | "fp16" | "bf16"}'
Prints one JSON line: {"samplesPerSec": n, "samplesPerCpuSec": n}. Timing matches the engine bench: two warm-up steps,
then the best of several windows of `seconds` each.
"""

import json
import sys
import time

import torch


class Block(torch.nn.Module):
    """Pre-LayerNorm block: causal self-attention and a GELU MLP, as the engine's transformer."""

    def __init__(self, d, heads, ratio):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.fc, self.out = torch.nn.Linear(d, ratio * d), torch.nn.Linear(ratio * d, d)

    def forward(self, h):
        b, t, d = h.shape
        q, k, v = self.qkv(self.ln1(h)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(2, 3)) / (d // self.heads) ** 0.5
        mask = torch.ones(t, t, dtype=torch.bool, device=h.device).triu(1)
        mixed = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
        h = h + self.proj(mixed.transpose(1, 2).reshape(b, t, d))
        return h + self.out(torch.nn.functional.gelu(self.fc(self.ln2(h))))


class Transformer(torch.nn.Module):
    def __init__(self, spec):
        super().__init__()
        d = spec["width"]
        self.token = torch.nn.Embedding(spec["vocab"], d)
        self.position = torch.nn.Parameter(torch.zeros(spec["context"], d))
        self.blocks = torch.nn.Sequential(*[Block(d, spec["heads"], spec["ratio"]) for _ in range(spec["depth"])])
        self.ln = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, spec["vocab"])

    def forward(self, x):
        h = self.blocks(self.token(x) + self.position)
        return self.head(self.ln(h[:, -1]))


class RMSNorm(torch.nn.Module):
    """x / sqrt(mean(x^2) + eps) * gain, eps 1e-6, as the engine's rmsNorm (torch.nn.RMSNorm is 2.4+)."""

    def __init__(self, d):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


def rotary_tables(t, dh, base=10000.0):
    """cos and sin [t, dh] of the rotate-half rotary embedding, as the engine's rotary op."""
    freqs = base ** (-torch.arange(0, dh // 2, dtype=torch.float32) * 2 / dh)
    angles = torch.arange(t, dtype=torch.float32)[:, None] * freqs[None, :]
    angles = torch.cat([angles, angles], dim=1)
    return angles.cos(), angles.sin()


def rotate(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class LmBlock(torch.nn.Module):
    """The engine's causal-lm block: RMSNorm, causal attention with rotary q/k, RMSNorm, SwiGLU (biases everywhere)."""

    def __init__(self, d, heads, hidden):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = RMSNorm(d), RMSNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.gate, self.up, self.down = torch.nn.Linear(d, hidden), torch.nn.Linear(d, hidden), torch.nn.Linear(hidden, d)

    def forward(self, h, cos, sin, mask):
        b, t, d = h.shape
        q, k, v = self.qkv(self.norm1(h)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        scores = (q @ k.transpose(2, 3)) / (d // self.heads) ** 0.5
        mixed = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
        h = h + self.proj(mixed.transpose(1, 2).reshape(b, t, d))
        x = self.norm2(h)
        return h + self.down(torch.nn.functional.silu(self.gate(x)) * self.up(x))


class CausalLm(torch.nn.Module):
    """Logits at every position [B * T, vocab], the output matrix tied to the token embedding."""

    def __init__(self, spec):
        super().__init__()
        d, t = spec["width"], spec["context"]
        self.token = torch.nn.Embedding(spec["vocab"], d)
        self.blocks = torch.nn.ModuleList([LmBlock(d, spec["heads"], spec["hidden"]) for _ in range(spec["depth"])])
        self.norm = RMSNorm(d)
        cos, sin = rotary_tables(t, d // spec["heads"])
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        self.register_buffer("mask", torch.ones(t, t, dtype=torch.bool).triu(1))

    def forward(self, x):
        h = self.token(x)
        for block in self.blocks:
            h = block(h, self.cos, self.sin, self.mask)
        return (self.norm(h) @ self.token.weight.T).reshape(-1, self.token.weight.shape[0])


def lenet():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def build(spec):
    """The model, a function drawing a batch of inputs, the class count and the labels per sample."""
    if spec["kind"] == "lenet":
        return lenet(), lambda b: torch.randn(b, 1, 28, 28), 10, 1
    if spec["kind"] == "transformer":
        return Transformer(spec), lambda b: torch.randint(0, spec["vocab"], (b, spec["context"])), spec["vocab"], 1
    if spec["kind"] == "causal-lm":
        tokens = lambda b: torch.randint(0, spec["vocab"], (b, spec["context"]))  # noqa: E731
        return CausalLm(spec), tokens, spec["vocab"], spec["context"]
    if spec["kind"] != "mlp":
        raise ValueError(f"unknown model kind {spec['kind']!r}")
    sizes = spec["sizes"]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers), lambda b: torch.randn(b, sizes[0]), sizes[-1], 1


def main():
    job = json.loads(sys.argv[1])
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    device = torch.device(job.get("device", "cpu"))
    model, inputs, classes, targets = build(job["model"])
    model = model.to(device)
    if job["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=job["lr"])
    elif job["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=job["lr"])
    else:
        raise ValueError(f"unknown optimizer {job['optimizer']!r}")
    batch = job["batch"]
    # A causal LM's sample has a label at every position (targets per sample).
    data = [(inputs(batch).to(device), torch.randint(0, classes, (batch * targets,)).to(device)) for _ in range(4)]
    loss_fn = torch.nn.CrossEntropyLoss()
    calls = [0]

    # "amp": "fp16" | "bf16": autocast's low-precision products, fp32 master weights (a GradScaler under fp16).
    amp = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(job.get("amp") or "")
    scaler = torch.amp.GradScaler(device.type) if amp is torch.float16 else None

    def step():
        x, y = data[calls[0] % len(data)]
        calls[0] += 1
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = loss_fn(model(x), y)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        return loss.item()  # the engine returns the loss each step too

    for _ in range(2):
        step()
    # Same windows as the engine bench: the least disturbed of >= 3 windows of `seconds` each.
    # samplesPerCpuSec: per second of process CPU time, as the engine bench reports it.
    best = best_cpu = 0.0
    started = time.perf_counter()
    windows = 0
    while windows < 3 or time.perf_counter() - started < 6 * job["seconds"]:
        n = 0
        start = time.perf_counter()
        cpu_start = time.process_time()
        while time.perf_counter() - start < job["seconds"] or n < 1:
            step()
            n += 1
        best = max(best, n / (time.perf_counter() - start))
        best_cpu = max(best_cpu, n / (time.process_time() - cpu_start))
        windows += 1
    print(json.dumps({"samplesPerSec": best * batch, "samplesPerCpuSec": best_cpu * batch}))


if __name__ == "__main__":
    main()
