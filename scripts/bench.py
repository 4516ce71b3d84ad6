#!/usr/bin/env python3
"""Plugback's performance figures, each measured side by side with its anchor in one run.

Usage: python3 scripts/bench.py [--data DIR] [--runs N] [--only NAME...]

Builds release binaries, generates the benchmark backups with `plugback-sim make-backup`
(once; kept in DIR, default target/bench-data), then times, alternating runs so that both
sides see the same machine state:
  deep      deep verify of a 2 GB / 20k-file plain backup vs `cat` of the same files (warm cache)
  quick     quick verify of a 100k-file backup
  list      listing 50 backups (`plugback backups --json`)
  encrypted deep verify of an encrypted backup with the real KDF cost vs `cat` of its blobs
Prints medians and ratios, as a Markdown table for the README.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build():
    sh(["cargo", "build", "--release", "--locked", "-p", "plugback", "-p", "plugback-sim"], cwd=ROOT)


def make(kind, out, *args):
    if out.exists():
        return
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    tmp.parent.mkdir(parents=True, exist_ok=True)
    sh([str(BIN / "plugback-sim"), "make-backup", kind, str(tmp), *args], stdout=subprocess.DEVNULL)
    tmp.rename(out)


def data_files(folder):
    """Every regular file under the folder, as `cat` would be given them."""
    return sorted(str(p) for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())


def total_bytes(files):
    return sum(os.path.getsize(f) for f in files)


def drop_caches():
    """Empties the page cache (needs root); False where the machine does not allow it."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def time_once(cmd, ok_codes=(0,), cold=False):
    if cold:
        drop_caches()
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd[:4])}...\n{proc.stderr.decode()[-2000:]}")
    return elapsed


def side_by_side(cmds, runs, cold=False):
    """Alternates the commands `runs` times after one warm-up each; returns medians.
    With `cold`, the page cache is emptied before every timed run."""
    for cmd in cmds.values():
        time_once(cmd)
    samples = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            samples[name].append(time_once(cmd, cold=cold))
    return {name: statistics.median(s) for name, s in samples.items()}


def cat_cmd(files):
    # xargs splits the list as the system allows; cat reads each file once.
    listing = ROOT / "target" / "bench-cat-list"
    listing.write_text("\0".join(files))
    return ["sh", "-c", f"xargs -0 cat < '{listing}' > /dev/null"]


def bench_deep(data, runs, rows):
    backup = data / "plain-2g"
    make("ios", backup, "--files", "20000", "--file-size", "100000", "--seed", "7")
    files = data_files(backup)
    size = total_bytes(files)
    med = side_by_side({
        "plugback": [str(BIN / "plugback"), "verify", "--deep", "--json", str(backup)],
        "cat": cat_cmd(files),
    }, runs)
    mbps = {k: size / v / 1e6 for k, v in med.items()}
    rows.append((f"Deep verify, plain {size/1e9:.2f} GB / {len(files)} files (warm cache)",
                 f"{med['plugback']:.2f} s = {mbps['plugback']:.0f} MB/s",
                 f"`cat`: {med['cat']:.2f} s = {mbps['cat']:.0f} MB/s",
                 f"{mbps['plugback']/mbps['cat']:.2f}x of cat (target >= 0.8x)"))


def bench_quick(data, runs, rows):
    backup = data / "plain-100k"
    make("ios", backup, "--files", "100000", "--file-size", "16", "--seed", "8")
    med = side_by_side({"plugback": [str(BIN / "plugback"), "verify", "--json", str(backup)]}, runs)
    rows.append(("Quick verify, 100k-file backup", f"{med['plugback']:.3f} s", "-",
                 "target < 1 s"))


def bench_list(data, runs, rows):
    folder = data / "fifty"
    if not folder.exists():
        tmp = data / "fifty.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        kinds = ["ios", "ios", "ios-mbdb", "android-ab", "android-folder"]
        for i in range(50):
            kind = kinds[i % len(kinds)]
            name = f"backup-{i:02}" + (".ab" if kind == "android-ab" else "")
            sh([str(BIN / "plugback-sim"), "make-backup", kind, str(tmp / name), "--seed", str(i),
                "--files", "200", "--file-size", "1000"], stdout=subprocess.DEVNULL)
        tmp.rename(folder)
    cmd = [str(BIN / "plugback"), "backups", "--json", "--dir", str(folder)]
    cold = drop_caches()
    med = side_by_side({"plugback": cmd}, runs, cold=cold)
    warm = side_by_side({"plugback": cmd}, runs)
    label = "cold cache" if cold else "warm cache (could not empty the page cache)"
    rows.append((f"List 50 backups (`plugback backups --json`, whole process, {label})",
                 f"{med['plugback']*1000:.0f} ms (warm: {warm['plugback']*1000:.0f} ms)", "-",
                 "target < 150 ms"))


def bench_encrypted(data, runs, rows):
    backup = data / "encrypted-real"
    make("ios", backup, "--password", "bench-pw", "--kdf-cost", "real",
         "--files", "2000", "--file-size", "100000", "--seed", "9")
    pw = data / "bench-pw.txt"
    pw.write_text("bench-pw\n")
    files = data_files(backup)
    size = total_bytes(files)
    med = side_by_side({
        "plugback": [str(BIN / "plugback"), "verify", "--deep", "--json", "--password-file", str(pw),
                     str(backup)],
        "cat": cat_cmd(files),
    }, runs)
    unlock = side_by_side({"unlock": [str(BIN / "plugback"), "verify", "--json", "--password-file",
                                      str(pw), str(backup)]}, max(3, runs // 2))["unlock"]
    rows.append((f"Deep verify, encrypted, real KDF, {size/1e6:.0f} MB / {len(files)} files",
                 f"{med['plugback']:.2f} s = {size/med['plugback']/1e6:.0f} MB/s, of which the "
                 f"password check (quick verify) is {unlock:.2f} s",
                 f"`cat`: {med['cat']:.2f} s = {size/med['cat']/1e6:.0f} MB/s",
                 f"{med['cat']/med['plugback']:.2f}x of cat (no target: the key derivation "
                 f"is fixed by the backup)"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "target" / "bench-data")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", nargs="*", default=["deep", "quick", "list", "encrypted"])
    args = ap.parse_args()
    build()
    rows = []
    for name in args.only:
        {"deep": bench_deep, "quick": bench_quick, "list": bench_list,
         "encrypted": bench_encrypted}[name](args.data, args.runs, rows)
    print(f"\nMedians of {args.runs} alternating runs, {os.cpu_count()} cores:\n")
    print("| figure | Plugback | anchor, same run | ratio / target |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
