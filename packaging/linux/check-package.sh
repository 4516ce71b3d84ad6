#!/usr/bin/env bash
# The Linux package, checked as a person would meet it: the desktop entry and the
# AppStream metainfo pass their validators, the .deb builds (release), installs with dpkg,
# puts every file where it says, and the installed program answers --version and doctor.
#
# Run by .ci/run (as root, on a fresh machine); by hand: bash packaging/linux/check-package.sh
# (sudo is used for dpkg when not root). Needs desktop-file-utils, appstream and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== desktop entry and metainfo"
desktop-file-validate packaging/linux/org.plugback.Plugback.desktop
appstreamcli validate --no-net packaging/linux/org.plugback.Plugback.metainfo.xml

echo "== the .deb"
# cargo-deb (cargo install), pinned so that every machine builds the same package.
if ! cargo deb --version 2>/dev/null | grep -q "3.8.0"; then
    cargo install cargo-deb --locked --version 3.8.0
fi
rm -f target/debian/plugback_*.deb target/debian/plugback-dbgsym_*.ddeb
cargo deb --locked
deb=$(ls target/debian/plugback_*.deb)
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb -f "$deb" Recommends | grep -q "usbmuxd" || { echo "the package does not recommend usbmuxd"; exit 1; }
dpkg-deb -f "$deb" Recommends | grep -q "adb" || { echo "the package does not recommend adb"; exit 1; }

$sudo dpkg -i "$deb"
for file in \
    /usr/bin/plugback \
    /usr/share/applications/org.plugback.Plugback.desktop \
    /usr/share/metainfo/org.plugback.Plugback.metainfo.xml \
    /usr/lib/udev/rules.d/70-plugback.rules \
    /usr/share/icons/hicolor/scalable/apps/org.plugback.Plugback.svg \
    /usr/share/icons/hicolor/16x16/apps/org.plugback.Plugback.png \
    /usr/share/icons/hicolor/256x256/apps/org.plugback.Plugback.png \
    /usr/share/icons/hicolor/512x512/apps/org.plugback.Plugback.png; do
    [ -f "$file" ] || { echo "missing after install: $file"; exit 1; }
done
# The installed desktop entry and metainfo, with the icons beside them, as software
# centres read them.
appstreamcli validate-tree --no-net / 2>&1 | grep -i "plugback" || true

echo "== the installed program"
version=$(/usr/bin/plugback --version)
echo "$version"
expected=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
case "$version" in
    "plugback $expected ("*", built "*")") ;;
    *) echo "unexpected --version: $version (expected plugback $expected (hash, built date))"; exit 1 ;;
esac

# doctor exits 0 when all is well and 1 when something needs fixing (no usbmuxd running on
# a build machine, say); anything else, or a report that is not JSON, is a failure.
status=0
HOME="$work" /usr/bin/plugback doctor --json > "$work/doctor.json" || status=$?
if [ "$status" -gt 1 ]; then
    echo "plugback doctor --json exited $status"
    exit 1
fi
python3 - "$work/doctor.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
checks = report["checks"]
assert checks, "doctor reported no checks"
ids = {check["id"] for check in checks}
for wanted in ("usbmuxd-installed", "adb-installed"):
    assert wanted in ids, f"doctor did not check {wanted}: {sorted(ids)}"
print(f"doctor: {len(checks)} checks, worst: {report['worst']}")
EOF
# The installed program opens its window (on a virtual display), as a double-click on its
# menu entry would, and draws the demo's phones.
if command -v xvfb-run >/dev/null 2>&1; then
    mkdir -p "$work/home"
    HOME="$work/home" TMPDIR="$work/home" xvfb-run -a -s "-screen 0 1280x800x24" \
        /usr/bin/plugback --demo --screenshot "$work/installed.png" --view phones
    echo "the installed window drew $(stat -c %s "$work/installed.png") bytes of PNG"
fi
echo "package check: passed"
