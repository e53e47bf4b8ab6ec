#!/usr/bin/env python3
"""Ours against PyTorch, back to back on this machine, with ratios.

    benches/compare.py --data-dir ../shared/datasets/mnist [--config configs/default.json]
                       [--features ndarray,flex] [--backend flex ...] [--out DIR]

1. builds the release trainer with --features (cargo),
2. runs `trainer bench` (every backend given, or every compiled-in one),
3. runs benches/pytorch_reference.py in the venv of benches/setup-venv.sh, both styles, with
   the same config (batch size, learning rate, schedule, epochs) and 2 threads,
4. prints one table of all results and the ratios of each backend to both PyTorch styles, and
   writes ours.json, pytorch.json and comparison.json in --out.

Ratios above 1 mean ours is better: faster epochs, more images per second, less time to 92 %,
less memory.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command, **kwargs):
    print("+ " + " ".join(command), file=sys.stderr, flush=True)
    return subprocess.run(command, check=True, **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--config", default=os.path.join(ROOT, "configs", "default.json"))
    parser.add_argument("--features", default="ndarray,flex")
    parser.add_argument("--backend", action="append", default=[])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=tempfile.mkdtemp(prefix="compare-"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    data_dir = os.path.abspath(args.data_dir)
    config = os.path.abspath(args.config)

    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    run(["cargo", "build", "--release", "-p", "trainer", "--features", args.features], cwd=ROOT)
    trainer = os.path.join(target, "release", "trainer")
    ours_json = os.path.join(args.out, "ours.json")
    command = [trainer, "bench", "--config", config, "--data-dir", data_dir, "--json", ours_json]
    for backend in args.backend:
        command += ["--backend", backend]
    run(command, stdout=sys.stderr)

    python = run([os.path.join(ROOT, "benches", "setup-venv.sh")], stdout=subprocess.PIPE, text=True).stdout.strip()
    theirs_json = os.path.join(args.out, "pytorch.json")
    run([python, os.path.join(ROOT, "benches", "pytorch_reference.py"), "--data-dir", data_dir,
         "--config", config, "--threads", str(args.threads), "--json", theirs_json], stdout=subprocess.DEVNULL)

    with open(ours_json) as f:
        ours = json.load(f)
    with open(theirs_json) as f:
        theirs = {r["name"]: r for r in json.load(f)}
    rows = ours["results"] + list(theirs.values())

    print(f"machine: {ours['machine']}")
    print(f"config: {config}")
    print()
    print(f"{'run':<18} {'s/epoch':>8} {'images/s':>10} {'s to 92%':>9} {'test acc':>9} {'eval img/s':>11} {'peak RSS':>9}")
    for r in rows:
        to_92 = "never" if r["seconds_to_92"] is None else f"{r['seconds_to_92']:.2f}"
        print(f"{r['name']:<18} {r['train_seconds'] / r['epochs']:8.3f} {r['samples_per_second']:10.0f} {to_92:>9} "
              f"{100 * r['test_accuracy']:8.2f}% {r['eval_images_per_second']:11.0f} {r['peak_rss_mb']:6.0f} MB")

    def ratio(theirs_value, ours_value):
        if theirs_value is None or ours_value is None or ours_value == 0:
            return None
        return theirs_value / ours_value

    comparison = []
    print()
    print("ratios (> 1: ours is better)")
    for r in ours["results"]:
        for style, ref in theirs.items():
            entry = {
                "ours": r["name"],
                "theirs": style,
                "epoch_speedup": ratio(ref["train_seconds"] / ref["epochs"], r["train_seconds"] / r["epochs"]),
                "time_to_92_speedup": ratio(ref["seconds_to_92"], r["seconds_to_92"]),
                "eval_speedup": ratio(r["eval_images_per_second"], ref["eval_images_per_second"]),
                "memory_ratio": ratio(ref["peak_rss_mb"], r["peak_rss_mb"]),
            }
            comparison.append(entry)
            shown = {k: ("n/a" if v is None else f"{v:.2f}x") for k, v in entry.items() if k not in ("ours", "theirs")}
            print(f"  {r['name']} vs {style}: epoch {shown['epoch_speedup']}, time to 92 % "
                  f"{shown['time_to_92_speedup']}, evaluation {shown['eval_speedup']}, memory {shown['memory_ratio']}")
    with open(os.path.join(args.out, "comparison.json"), "w") as f:
        json.dump({"machine": ours["machine"], "config": config, "results": rows, "ratios": comparison}, f, indent=2)
    print(f"\nwrote {args.out}/ours.json, pytorch.json, comparison.json")


if __name__ == "__main__":
    main()
