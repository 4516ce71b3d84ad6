#!/usr/bin/env python3
"""How much CPU the Plugback window uses while nothing happens.

Usage: python3 scripts/idle_cpu.py [--windows N] [--seconds S]

Starts a private Xvfb display, opens the release build of the window there (in demo mode,
with its simulated iPhone and Android phone and sample backups, and in normal mode on an
empty computer), waits for it to settle, then reads the process's CPU time from /proc over
N windows of S seconds each. Prints the median share of one core, as a Markdown table.
Needs Xvfb and Mesa's GL (Debian: xvfb libgl1-mesa-dri) and `cargo build --release`.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "plugback"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU time of `pid` and its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_display():
    for n in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    sys.exit("no free X display number")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(args, windows, seconds, settle):
    display = free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    home = tempfile.mkdtemp(prefix="plugback-idle-")
    try:
        time.sleep(1.0)
        env = dict(os.environ, DISPLAY=f":{display}", HOME=home,
                   XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data",
                   # Nothing of this computer's phones: no usbmuxd, an adb port nobody uses.
                   USBMUXD_SOCKET_ADDRESS=f"127.0.0.1:{free_port()}",
                   ANDROID_ADB_SERVER_PORT=str(free_port()))
        env.pop("WAYLAND_DISPLAY", None)
        app = subprocess.Popen([str(BIN), *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(settle)
            if app.poll() is not None:
                sys.exit(f"the window closed at once (exit {app.returncode}): {args}")
            shares = []
            for _ in range(windows):
                start_cpu, start = cpu_seconds(app.pid), time.monotonic()
                time.sleep(seconds)
                used = cpu_seconds(app.pid) - start_cpu
                shares.append(100.0 * used / (time.monotonic() - start))
            return shares
        finally:
            app.terminate()
            try:
                app.wait(timeout=10)
            except subprocess.TimeoutExpired:
                app.kill()
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--settle", type=float, default=10.0)
    opts = parser.parse_args()
    if not BIN.exists():
        sys.exit("build it first: cargo build --release")
    if shutil.which("Xvfb") is None:
        sys.exit("Xvfb is needed: sudo apt-get install xvfb libgl1-mesa-dri")
    print(f"| window | idle CPU, median of {opts.windows} × {opts.seconds:.0f} s (% of one core) | range |")
    print("|---|---|---|")
    for label, args in (("demo mode (two simulated phones, 5 backups)", ["--demo"]),
                        ("no phone, no backups", [])):
        shares = measure(args, opts.windows, opts.seconds, opts.settle)
        print(f"| {label} | {statistics.median(shares):.2f} % | {min(shares):.2f}–{max(shares):.2f} % |",
              flush=True)


if __name__ == "__main__":
    main()
