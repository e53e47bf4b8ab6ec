#!/usr/bin/env python3
"""The same training job in PyTorch, for side-by-side timings with `trainer bench`.

Two ways, each in its own process (so each has its own peak memory):

  article    the article's style: torchvision's MNIST dataset, ToTensor, a DataLoader with
             shuffle=True (one tensor per image, collated per batch)
  preloaded  the best case: the whole training set as one float tensor, batches drawn with
             randperm and indexing

Both train nn.Linear(784, 10) with CrossEntropyLoss and torch.optim.SGD as the JSON config
says (learning rate, momentum, dampening, nesterov, weight decay, batch size, epochs, the
learning-rate schedule stepped every iteration), on the same 50,000 training images as ours
(the last `validation.size` are held out), and report per epoch: training seconds (evaluation
excluded), test accuracy; then the time to reach 92 % test accuracy, the evaluation throughput
on the 10,000 test images and the peak resident memory.

  benches/pytorch_reference.py --data-dir ../shared/datasets/mnist --config configs/default.json \
      [--style article|preloaded|both] [--threads 2] [--json out.json]

Run it with the environment from benches/setup-venv.sh.
"""
import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

FILES = {
    "train-images-idx3-ubyte": "train images",
    "train-labels-idx1-ubyte": "train labels",
    "t10k-images-idx3-ubyte": "test images",
    "t10k-labels-idx1-ubyte": "test labels",
}


def raw_bytes(data_dir, name):
    for candidate, opener in ((name, open), (name + ".gz", gzip.open)):
        path = os.path.join(data_dir, candidate)
        if os.path.exists(path):
            with opener(path, "rb") as f:
                return f.read()
    sys.exit(f"pytorch_reference.py: {name}[.gz] not found in {data_dir}")


def torchvision_root(data_dir):
    """A folder laid out as torchvision's MNIST expects (MNIST/raw/<uncompressed files>)."""
    root = tempfile.mkdtemp(prefix="mnist-torchvision-")
    raw = os.path.join(root, "MNIST", "raw")
    os.makedirs(raw)
    for name in FILES:
        with open(os.path.join(raw, name), "wb") as f:
            f.write(raw_bytes(data_dir, name))
    return root


def idx_tensor(torch, data_dir, name):
    import numpy as np
    data = raw_bytes(data_dir, name)
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return torch.from_numpy(np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape).copy())


def scheduler(torch, optimizer, schedule, total, steps_per_epoch):
    kind = schedule.get("type", "constant")
    if kind == "constant":
        return None
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total, eta_min=schedule.get("min_lr", 0.0))
    if kind == "linear":
        lr = optimizer.param_groups[0]["lr"]
        return torch.optim.lr_scheduler.LinearLR(
            optimizer, start_factor=1.0, end_factor=schedule["final_lr"] / lr, total_iters=total)
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=schedule["every_epochs"] * steps_per_epoch, gamma=schedule["gamma"])
    sys.exit(f"pytorch_reference.py: unknown lr_schedule {kind}")


def run(style, args, config):
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(config.get("seed", 42))
    validation = config.get("validation", {}).get("size", 10000)
    batch_size = config.get("batch_size", 128)
    epochs = config.get("epochs", 10)
    opt = config.get("optimizer", {})

    test_x = idx_tensor(torch, args.data_dir, "t10k-images-idx3-ubyte").reshape(-1, 784).float().div(255)
    test_y = idx_tensor(torch, args.data_dir, "t10k-labels-idx1-ubyte").long()

    if style == "article":
        import torchvision
        from torchvision import transforms
        root = torchvision_root(args.data_dir)
        full = torchvision.datasets.MNIST(root, train=True, transform=transforms.ToTensor(), download=False)
        train_set = torch.utils.data.Subset(full, range(len(full) - validation))
        loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True)
        train_size = len(train_set)

        def batches():
            for images, labels in loader:
                yield images.view(-1, 784), labels
    else:
        images = idx_tensor(torch, args.data_dir, "train-images-idx3-ubyte").reshape(-1, 784)
        labels = idx_tensor(torch, args.data_dir, "train-labels-idx1-ubyte").long()
        train_x = images[: len(images) - validation].float().div(255)
        train_y = labels[: len(labels) - validation]
        train_size = len(train_x)

        def batches():
            order = torch.randperm(train_size)
            for start in range(0, train_size, batch_size):
                index = order[start: start + batch_size]
                yield train_x[index], train_y[index]

    steps_per_epoch = (train_size + batch_size - 1) // batch_size
    model = nn.Linear(784, 10)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=opt.get("learning_rate", 0.001), momentum=opt.get("momentum", 0.0),
        dampening=opt.get("dampening", 0.0), nesterov=opt.get("nesterov", False),
        weight_decay=opt.get("weight_decay", 0.0))
    lr_scheduler = scheduler(torch, optimizer, config.get("lr_schedule", {"type": "constant"}),
                             epochs * steps_per_epoch, steps_per_epoch)

    def evaluate():
        with torch.no_grad():
            logits = model(test_x)
            return (logits.argmax(1) == test_y).float().mean().item(), loss_fn(logits, test_y).item()

    epoch_seconds, accuracies = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        for x, y in batches():
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            if lr_scheduler is not None:
                lr_scheduler.step()
        epoch_seconds.append(time.perf_counter() - start)
        accuracies.append(evaluate()[0])

    accuracy, loss = evaluate()
    elapsed, time_to_92 = 0.0, None
    for seconds, acc in zip(epoch_seconds, accuracies):
        elapsed += seconds
        if acc >= 0.92 and time_to_92 is None:
            time_to_92 = elapsed
    # Timed evaluation does what ours does per batch: scale the u8 images, logits, summed
    # cross-entropy, predictions, and the confusion matrix from predictions and labels.
    test_u8 = idx_tensor(torch, args.data_dir, "t10k-images-idx3-ubyte").reshape(-1, 784)
    eval_batch = config.get("eval_batch_size", 1000)
    evaluations = []
    with torch.no_grad():
        for _ in range(5):
            start = time.perf_counter()
            confusion = torch.zeros(10, 10, dtype=torch.long)
            loss_sum = 0.0
            for first in range(0, len(test_u8), eval_batch):
                x = test_u8[first: first + eval_batch].float().div(255)
                y = test_y[first: first + eval_batch]
                logits = model(x)
                loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
                predicted = logits.argmax(1)
                confusion += torch.bincount(y * 10 + predicted, minlength=100).reshape(10, 10)
            evaluations.append(time.perf_counter() - start)
    evaluations.sort()
    return {
        "name": f"pytorch-{style}",
        "torch": torch.__version__,
        "threads": args.threads,
        "epochs": epochs,
        "epoch_seconds": epoch_seconds,
        "train_seconds": sum(epoch_seconds),
        "samples_per_second": train_size * epochs / sum(epoch_seconds),
        "test_accuracy": accuracy,
        "test_loss": loss,
        "test_accuracy_per_epoch": accuracies,
        "seconds_to_92": time_to_92,
        "eval_images_per_second": len(test_x) / evaluations[len(evaluations) // 2],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "..", "configs", "default.json"))
    parser.add_argument("--style", choices=["article", "preloaded", "both"], default="both")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    with open(args.config) as f:
        config = json.load(f)

    if args.style == "both":
        results = []
        for style in ("article", "preloaded"):
            out = subprocess.run(
                [sys.executable, __file__, "--data-dir", args.data_dir, "--config", args.config,
                 "--style", style, "--threads", str(args.threads)],
                check=True, stdout=subprocess.PIPE, text=True).stdout
            results.extend(json.loads(out))
    else:
        results = [run(args.style, args, config)]
    text = json.dumps(results, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
