#!/usr/bin/env python3
"""The same training job in PyTorch, for side-by-side timings with `trainer bench`.

Two ways, each in its own process (so each has its own peak memory):

  article    the article's style: torchvision's MNIST dataset, ToTensor, a DataLoader with
             shuffle=True (one tensor per image, collated per batch)
  preloaded  the best case: the whole training set as one float tensor, batches drawn with
             randperm and indexing

Both train the config's zoo model built the same way in PyTorch (logistic: nn.Linear(784, 10);
mlp: Linear layers with the activation and dropout; cnn: blocks of a 'same'-padded Conv2d, ReLU
and 2x2 max pooling, dropout, a hidden Linear with ReLU and dropout, the output Linear; PyTorch's
default initialisation, which is the one Burn's layers use here) with CrossEntropyLoss and the
config's optimizer (sgd, adam, adamw: learning rate, momentum, betas, weight decay, ...), batch
size, epochs and learning-rate schedule stepped every iteration, on the same 50,000 training
images as ours (the last `validation.size` are held out), and report per epoch: training
seconds (evaluation excluded), test accuracy; then the time to reach the model's target test
accuracy (92 % logistic, 97.5 % MLP, 99 % CNN), the evaluation throughput on the 10,000 test
images and the peak resident memory.

  benches/pytorch_reference.py --data-dir ../shared/datasets/mnist [--model cnn | --config FILE] \
      [--epochs N] [--style article|preloaded|both] [--threads 2] [--json out.json]

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


TARGETS = {"logistic": 0.92, "mlp": 0.975, "cnn": 0.99}


def build_model(torch, nn, kind, block):
    """The zoo model `block` describes, as PyTorch layers (their default initialisation)."""
    if kind == "logistic":
        return nn.Linear(784, 10)
    if kind == "mlp":
        activation = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[
            block.get("activation", "relu")]
        layers, width = [], 784
        for hidden in block.get("hidden", [256]):
            layers += [nn.Linear(width, hidden), activation(), nn.Dropout(block.get("dropout", 0.0))]
            width = hidden
        return nn.Sequential(*layers, nn.Linear(width, 10))
    if kind == "cnn":
        kernel, dropout = block.get("kernel_size", 3), block.get("dropout", 0.25)
        layers, channels, side = [], 1, 28
        for filters in block.get("channels", [16, 32]):
            layers += [nn.Conv2d(channels, filters, kernel, padding="same"), nn.ReLU(), nn.MaxPool2d(2, 2)]
            channels, side = filters, side // 2
        hidden = block.get("hidden", 128)
        return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(dropout),
                             nn.Linear(channels * side * side, hidden), nn.ReLU(), nn.Dropout(dropout),
                             nn.Linear(hidden, 10))
    sys.exit(f"pytorch_reference.py: no PyTorch reference of the model kind {kind!r}")


def build_optimizer(torch, model, opt):
    """The config's optimizer with PyTorch's names and our configs' defaults."""
    kind = opt.get("type", "sgd")
    lr = opt.get("learning_rate")
    if kind == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=0.2 if lr is None else lr, momentum=opt.get("momentum", 0.9),
            dampening=opt.get("dampening", 0.0), nesterov=opt.get("nesterov", False),
            weight_decay=opt.get("weight_decay", 1e-5))
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return cls(model.parameters(), lr=1e-3 if lr is None else lr,
                   betas=tuple(opt.get("betas", [0.9, 0.999])), eps=opt.get("epsilon", 1e-8),
                   weight_decay=opt.get("weight_decay", 0.0 if kind == "adam" else 0.01),
                   amsgrad=opt.get("amsgrad", False))
    sys.exit(f"pytorch_reference.py: optimizer {kind!r} is not reproduced here (sgd, adam, adamw)")


def run(style, args, config):
    import torch
    from torch import nn

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    def sync():
        """Waits for the GPU's queued work, so that a timer measures it."""
        if device.type == "cuda":
            torch.cuda.synchronize()
    torch.manual_seed(config.get("seed", 42))
    # null: a sixth of the training images, at most 10,000, as ours (MNIST: 10,000)
    validation = config.get("validation", {}).get("size") or 10000
    batch_size = config.get("batch_size", 128)
    epochs = config.get("epochs", 10)
    opt = config.get("optimizer", {})

    block = config.get("model", {})
    kind = block.get("kind", "logistic")
    shape = (-1, 1, 28, 28) if kind == "cnn" else (-1, 784)
    test_x = idx_tensor(torch, args.data_dir, "t10k-images-idx3-ubyte").reshape(shape).float().div(255).to(device)
    test_y = idx_tensor(torch, args.data_dir, "t10k-labels-idx1-ubyte").long().to(device)

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
                yield images.view(shape).to(device), labels.to(device)
    else:
        images = idx_tensor(torch, args.data_dir, "train-images-idx3-ubyte").reshape(shape)
        labels = idx_tensor(torch, args.data_dir, "train-labels-idx1-ubyte").long()
        train_x = images[: len(images) - validation].float().div(255).to(device)
        train_y = labels[: len(labels) - validation].to(device)
        train_size = len(train_x)

        def batches():
            order = torch.randperm(train_size, device=device)
            for start in range(0, train_size, batch_size):
                index = order[start: start + batch_size]
                yield train_x[index], train_y[index]

    steps_per_epoch = (train_size + batch_size - 1) // batch_size
    model = build_model(torch, nn, kind, block).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = build_optimizer(torch, model, opt)
    if config.get("warmup") or config.get("accumulation", 1) != 1 or config.get("gradient_clipping"):
        sys.exit("pytorch_reference.py: warmup, accumulation and clipping are not reproduced here")
    lr_scheduler = scheduler(torch, optimizer, config.get("lr_schedule", {"type": "constant"}),
                             epochs * steps_per_epoch, steps_per_epoch)

    def evaluate():
        model.eval()
        with torch.no_grad():
            logits = model(test_x)
            return (logits.argmax(1) == test_y).float().mean().item(), loss_fn(logits, test_y).item()

    epoch_seconds, accuracies = [], []
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        for x, y in batches():
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            if lr_scheduler is not None:
                lr_scheduler.step()
        sync()
        epoch_seconds.append(time.perf_counter() - start)
        accuracies.append(evaluate()[0])

    accuracy, loss = evaluate()
    target = TARGETS.get(kind, 0.92)
    elapsed, time_to_target = 0.0, None
    for seconds, acc in zip(epoch_seconds, accuracies):
        elapsed += seconds
        if acc >= target and time_to_target is None:
            time_to_target = elapsed
    # Timed evaluation does what ours does per batch: scale the u8 images, logits, summed
    # cross-entropy, predictions, and the confusion matrix from predictions and labels.
    test_u8 = idx_tensor(torch, args.data_dir, "t10k-images-idx3-ubyte").reshape(shape).to(device)
    model.eval()
    eval_batch = config.get("eval_batch_size", 1000)
    evaluations = []
    with torch.no_grad():
        for _ in range(5):
            start = time.perf_counter()
            confusion = torch.zeros(10, 10, dtype=torch.long, device=device)
            loss_sum = 0.0
            for first in range(0, len(test_u8), eval_batch):
                x = test_u8[first: first + eval_batch].float().div(255)
                y = test_y[first: first + eval_batch]
                logits = model(x)
                loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
                predicted = logits.argmax(1)
                confusion += torch.bincount(y * 10 + predicted, minlength=100).reshape(10, 10)
            sync()
            evaluations.append(time.perf_counter() - start)
    evaluations.sort()
    return {
        "name": f"pytorch-{style}" + ("-cuda" if device.type == "cuda" else ""),
        "device": str(torch.cuda.get_device_name(device)) if device.type == "cuda" else "CPU",
        "torch": torch.__version__,
        "threads": args.threads,
        "epochs": epochs,
        "epoch_seconds": epoch_seconds,
        "train_seconds": sum(epoch_seconds),
        "samples_per_second": train_size * epochs / sum(epoch_seconds),
        "test_accuracy": accuracy,
        "test_loss": loss,
        "test_accuracy_per_epoch": accuracies,
        "model": kind,
        "target_accuracy": target,
        "seconds_to_target": time_to_target,
        "eval_images_per_second": len(test_x) / evaluations[len(evaluations) // 2],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--config", help="training config (default: configs/default.json, or configs/<model>.json)")
    parser.add_argument("--model", choices=sorted(TARGETS), help="the zoo model, with configs/<model>.json")
    parser.add_argument("--epochs", type=int, help="epochs (overrides the config)")
    parser.add_argument("--style", choices=["article", "preloaded", "both"], default="both")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU route")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    configs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs")
    if args.config is None:
        name = "default" if args.model in (None, "logistic") else args.model
        args.config = os.path.join(configs, f"{name}.json")
    with open(args.config) as f:
        config = json.load(f)
    if args.model is not None:
        config["model"] = {**config.get("model", {}), "kind": args.model}
    if args.epochs is not None:
        config["epochs"] = args.epochs

    if args.style == "both":
        results = []
        for style in ("article", "preloaded"):
            out = subprocess.run(
                [sys.executable, __file__, "--data-dir", args.data_dir, "--config", args.config,
                 "--style", style, "--threads", str(args.threads), "--device", args.device]
                + (["--model", args.model] if args.model else [])
                + (["--epochs", str(args.epochs)] if args.epochs else []),
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
