#!/usr/bin/env python3
"""Weights between PyTorch and this project, both ways, checked on the MNIST test set.

  export: loads our model.safetensors into torch.nn.Linear(784, 10) and prints its test accuracy
          (it must equal the accuracy `trainer eval` reports for the same folder).
  train:  trains the article's model in PyTorch (nn.Linear(784, 10), CrossEntropyLoss, SGD lr
          0.001, batch 50, 1,500 iterations), saves its state_dict with safetensors, and prints
          its test accuracy, for `trainer import-pytorch --weights FILE` to reproduce.

Run it with the benchmark venv: PY=$(benches/setup-venv.sh); $PY benches/pytorch_interop.py ...
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import idx_tensor  # noqa: E402


def test_set(torch, data_dir):
    images = idx_tensor(torch, data_dir, "t10k-images-idx3-ubyte").reshape(-1, 784).float() / 255.0
    labels = idx_tensor(torch, data_dir, "t10k-labels-idx1-ubyte").long()
    return images, labels


def accuracy(torch, linear, images, labels):
    with torch.no_grad():
        return (linear(images).argmax(1) == labels).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["export", "train"])
    parser.add_argument("--data-dir", required=True, help="folder with the four MNIST IDX files")
    parser.add_argument("--weights", required=True, help="safetensors file to read (export) or write (train)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from safetensors.torch import load_file, save_file

    torch.set_num_threads(2)
    images, labels = test_set(torch, args.data_dir)
    linear = torch.nn.Linear(784, 10)
    if args.mode == "export":
        linear.load_state_dict(load_file(args.weights))
        print(f"torch.nn.Linear(784, 10) with {args.weights}: test accuracy {100 * accuracy(torch, linear, images, labels):.2f} %")
        return

    torch.manual_seed(args.seed)
    train_images = idx_tensor(torch, args.data_dir, "train-images-idx3-ubyte").reshape(-1, 784).float() / 255.0
    train_labels = idx_tensor(torch, args.data_dir, "train-labels-idx1-ubyte").long()
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    iteration = 0
    while iteration < 1500:
        for batch in torch.randperm(len(train_labels)).split(50):
            optimizer.zero_grad()
            loss_fn(linear(train_images[batch]), train_labels[batch]).backward()
            optimizer.step()
            iteration += 1
            if iteration == 1500:
                break
    save_file(linear.state_dict(), args.weights)
    print(f"PyTorch article model after 1500 iterations: test accuracy {100 * accuracy(torch, linear, images, labels):.2f} %, saved {args.weights}")


if __name__ == "__main__":
    main()
