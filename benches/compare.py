#!/usr/bin/env python3
"""Ours against PyTorch, back to back on this machine, with ratios, for any zoo model.

    benches/compare.py --data-dir ../shared/datasets/mnist [--model logistic|mlp|cnn]
                       [--config FILE] [--epochs N] [--repeats 5] [--features flex]
                       [--backend flex ...] [--style preloaded|article|both] [--out DIR]

1. builds the release trainer with --features (cargo),
2. --repeats times, alternating: `trainer bench --model M` (every backend given, or every
   compiled-in one), then benches/pytorch_reference.py in the venv of benches/setup-venv.sh
   with the same model, config (optimizer, batch size, schedule, epochs) and 2 threads,
3. prints every run, the median and the spread (min to max) of each figure, the ratios of the
   medians of each backend to each PyTorch style, and the epoch-time ratio of each alternating
   pair (run i of ours against run i of PyTorch; with --at-least X, how many pairs reach X);
   writes every run and the ratios to comparison.json in --out.

Ratios above 1 mean ours is better: faster epochs, more images per second, less time to the
model's target accuracy (92 % logistic, 97.5 % MLP, 99 % CNN), faster evaluation, less memory.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command, **kwargs):
    print("+ " + " ".join(command), file=sys.stderr, flush=True)
    return subprocess.run(command, check=True, **kwargs)


def figures(r):
    """The compared figures of one run: (name, value, higher is better)."""
    return {
        "s/epoch": (r["train_seconds"] / r["epochs"], False),
        "images/s": (r["samples_per_second"], True),
        "s to target": (r.get("seconds_to_target"), False),
        "test acc %": (100 * r["test_accuracy"], True),
        "eval images/s": (r["eval_images_per_second"], True),
        "peak MB": (r["peak_rss_mb"], False),
    }


def summarise(runs):
    """Median and spread of each figure over the runs of one name."""
    out = {}
    for key in figures(runs[0]):
        values = [figures(r)[key][0] for r in runs]
        known = [v for v in values if v is not None]
        out[key] = {
            "median": statistics.median(known) if len(known) == len(values) else None,
            "min": min(known) if known else None,
            "max": max(known) if known else None,
            "higher_is_better": figures(runs[0])[key][1],
        }
    return out


def pair_ratios(by_name, names, at_least):
    """Epoch-time ratio of each alternating pair: run i of ours against run i of PyTorch, which
    ran right after it. A median can hide a slow run; these show each one."""
    pairs = []
    print()
    print("s/epoch ratio of each alternating pair (> 1: ours is faster)")
    for ours in (n for n in names if n.startswith("burn-")):
        for theirs in (n for n in names if n.startswith("pytorch-")):
            values = [figures(t)["s/epoch"][0] / figures(o)["s/epoch"][0]
                      for o, t in zip(by_name[ours], by_name[theirs])]
            entry = {"ours": ours, "theirs": theirs, "s/epoch": values}
            line = ", ".join(f"{v:.2f}" for v in values)
            if at_least is not None:
                reached = sum(v >= at_least for v in values)
                entry["at_least"] = {"x": at_least, "reached": reached, "of": len(values)}
                line += f" ({reached} of {len(values)} at {at_least:g}x or more)"
            pairs.append(entry)
            print(f"  {ours} vs {theirs}: {line}")
    return pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--model", default="logistic", choices=["logistic", "mlp", "cnn"])
    parser.add_argument("--config", help="default: configs/<model>.json (configs/default.json for logistic)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--features", default="flex")
    parser.add_argument("--backend", action="append", default=[])
    parser.add_argument("--style", default="preloaded", choices=["preloaded", "article", "both"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--at-least", type=float, metavar="X",
                        help="count the alternating pairs whose epoch-time ratio is at least X")
    parser.add_argument("--out", default=tempfile.mkdtemp(prefix="compare-"))
    args = parser.parse_args()
    if args.at_least is not None and not (args.at_least > 0 and math.isfinite(args.at_least)):
        parser.error(f"--at-least {args.at_least}: give a ratio above 0, such as 3 for 3x")
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: give 1 or more alternating runs")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs {args.epochs}: give 1 or more epochs")
    data_dir = os.path.abspath(args.data_dir)
    config = os.path.abspath(args.config or os.path.join(
        ROOT, "configs", ("default" if args.model == "logistic" else args.model) + ".json"))
    if not os.path.isdir(data_dir):
        parser.error(f"--data-dir {args.data_dir}: no such folder; give the folder of MNIST's four "
                     "files, such as ../shared/datasets/mnist")
    if not os.path.isfile(config):
        parser.error(f"--config {config}: no such file; give a training config such as configs/mlp.json")
    os.makedirs(args.out, exist_ok=True)

    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    run(["cargo", "build", "--release", "-p", "trainer", "--features", args.features], cwd=ROOT)
    trainer = os.path.join(target, "release", "trainer")
    python = run([os.path.join(ROOT, "benches", "setup-venv.sh")], stdout=subprocess.PIPE, text=True).stdout.strip()
    common = ["--model", args.model, "--config", config, "--data-dir", data_dir]
    if args.epochs:
        common += ["--epochs", str(args.epochs)]

    runs, machine = [], None
    for repeat in range(args.repeats):
        ours_json = os.path.join(args.out, f"ours-{repeat + 1}.json")
        command = [trainer, "bench", *common, "--json", ours_json]
        for backend in args.backend:
            command += ["--backend", backend]
        run(command, stdout=sys.stderr)
        with open(ours_json) as f:
            ours = json.load(f)
        machine = ours["machine"]
        runs += ours["results"]
        theirs_json = os.path.join(args.out, f"pytorch-{repeat + 1}.json")
        run([python, os.path.join(ROOT, "benches", "pytorch_reference.py"), *common, "--style", args.style,
             "--threads", str(args.threads), "--json", theirs_json], stdout=subprocess.DEVNULL)
        with open(theirs_json) as f:
            runs += json.load(f)

    names = list(dict.fromkeys(r["name"] for r in runs))
    by_name = {name: [r for r in runs if r["name"] == name] for name in names}
    summaries = {name: summarise(rs) for name, rs in by_name.items()}

    print(f"machine: {machine}")
    print(f"model: {args.model}, config: {config}, {args.repeats} alternating runs each")
    keys = list(figures(runs[0]))
    print()
    print(f"{'run':<18} " + " ".join(f"{k:>22}" for k in keys))
    for name, summary in summaries.items():
        cells = []
        for k in keys:
            s = summary[k]
            if s["median"] is None:
                cells.append(f"{'never' if s['max'] is None else 'some runs never':>22}")
            else:
                cells.append(f"{s['median']:>9.4g} ({s['min']:.4g}-{s['max']:.4g})".rjust(22))
        print(f"{name:<18} " + " ".join(cells))

    ratios = []
    print()
    print("ratios of the medians (> 1: ours is better)")
    for ours in (n for n in names if n.startswith("burn-")):
        for theirs in (n for n in names if n.startswith("pytorch-")):
            entry = {"ours": ours, "theirs": theirs}
            for k in keys:
                a, b = summaries[ours][k]["median"], summaries[theirs][k]["median"]
                if a is None or b is None or a == 0 or b == 0 or k == "test acc %":
                    entry[k] = None
                else:
                    entry[k] = a / b if summaries[ours][k]["higher_is_better"] else b / a
            ratios.append(entry)
            shown = ", ".join(f"{k} {'n/a' if entry[k] is None else format(entry[k], '.2f') + 'x'}"
                              for k in keys if k != "test acc %")
            print(f"  {ours} vs {theirs}: {shown}")
    pairs = pair_ratios(by_name, names, args.at_least)
    with open(os.path.join(args.out, "comparison.json"), "w") as f:
        json.dump({"machine": machine, "model": args.model, "config": config, "runs": runs,
                   "summaries": summaries, "ratios": ratios, "pairs": pairs}, f, indent=2)
    print(f"\nwrote {args.out}/comparison.json")


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        # The command's own errors are above; a traceback would only bury them.
        how = f"exit status {e.returncode}" if e.returncode > 0 else f"killed by signal {-e.returncode}"
        print(f"compare.py: {os.path.basename(e.cmd[0])} failed ({how}); its errors are above",
              file=sys.stderr)
        sys.exit(e.returncode if e.returncode > 0 else 1)
    except KeyboardInterrupt:
        # Ctrl-C reaches the running trainer too, which stops cleanly; each finished run's JSON
        # is already in --out.
        print("compare.py: interrupted; the finished runs' JSON files are in --out", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # Output piped into a reader that left (`| head`): nothing more to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
