#!/usr/bin/env bash
# Container tooling for test/containers on Debian 12 as root, idempotent:
#   1. podman and friends (and chromium with a font, for test/apps/browser.test.ts) from Debian's packages;
#      redis-server for test/auth/upstream-auth.test.ts (the token store replicas share);
#   2. the podman settings these machines need (runc, cgroupfs, file events, netavark, ulimits the kernel
#      grants root here) in /etc/containers/containers.conf;
#   3. a Node base image copied from this machine's own Node, because no container registry is reachable:
#      the node binary and its libraries, npm, busybox for sh/env, the CA bundle, a `node` user (uid 1000).
# Usage: .ci/containers.sh [IMAGE]   (default localhost/airmcp-node:<host node version>)
set -euo pipefail

NODE_VERSION="$(node --version)"
IMAGE="${1:-localhost/airmcp-node:${NODE_VERSION#v}}"
PACKAGES=(podman buildah netavark aardvark-dns runc iptables catatonit fuse-overlayfs uidmap slirp4netns
  busybox-static podman-compose haproxy chromium fonts-liberation redis-server)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "containers: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Root here lacks CAP_SYS_RESOURCE: podman's default ulimits (1048576 open files) cannot be set, so use
# the hard limits this shell has. crun refuses the hybrid cgroup layout: runc with cgroupfs works.
conf=/etc/containers/containers.conf
marker='# airmcp .ci/containers.sh'
nofile="$(ulimit -Hn)"
nproc="$(ulimit -Hu)"
[[ "$nproc" == unlimited || "$nproc" -gt 32768 ]] && nproc=32768
[[ "$nofile" == unlimited ]] && nofile=1048576
if ! grep -qF "$marker" "$conf" 2>/dev/null; then
  [[ -f "$conf" ]] && cp "$conf" "$conf.before-airmcp"
  mkdir -p /etc/containers
  cat >"$conf" <<EOF
$marker: settings podman needs on these machines (the previous file is $conf.before-airmcp)
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
EOF
fi

if podman image exists "$IMAGE"; then
  echo "containers: base image $IMAGE is there" >&2
  exit 0
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
node_bin="$(readlink -f "$(command -v node)")"
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,usr/local/lib/node_modules,etc/ssl/certs,tmp,home/node,app}
cp "$node_bin" "$root/usr/local/bin/node"
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do cp --parents -L "$lib" "$root"; done
cp -a "$(npm root -g)/npm" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
done
ln -s /bin/env "$root/usr/bin/env"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"
chown 1000:1000 "$root/home/node"
tar -C "$root" -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$IMAGE" >/dev/null
echo "containers: built base image $IMAGE from the host's Node $NODE_VERSION" >&2
