"""PyTorch eager CPU baseline for `npm run bench:engine` (test/src/bench/engine.ts).

Usage: python torch_engine.py '{"model": {"kind": "mlp", "sizes": [784, 400, 400, 10]},
        "optimizer": "sgd" | "adam", "batch": 128, "lr": 0.01, "threads": 2, "seconds": 1.5}'
Prints one JSON line: {"samplesPerSec": n, "samplesPerCpuSec": n}. Timing matches the engine bench: two warm-up steps,
then the best of several windows of `seconds` each.
"""

import json
import sys
import time

import torch


def build(spec):
    if spec["kind"] != "mlp":
        raise ValueError(f"unknown model kind {spec['kind']!r}")
    sizes = spec["sizes"]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers), [sizes[0]], sizes[-1]


def main():
    job = json.loads(sys.argv[1])
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    model, input_dims, classes = build(job["model"])
    if job["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=job["lr"])
    elif job["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=job["lr"])
    else:
        raise ValueError(f"unknown optimizer {job['optimizer']!r}")
    batch = job["batch"]
    data = [(torch.randn(batch, *input_dims), torch.randint(0, classes, (batch,))) for _ in range(4)]
    loss_fn = torch.nn.CrossEntropyLoss()
    calls = [0]

    def step():
        x, y = data[calls[0] % len(data)]
        calls[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
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
