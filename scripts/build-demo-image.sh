#!/usr/bin/env bash
# Builds the demo image offline from Debian's busybox-static, as an OCI image layout archive that
# `berthctl images import` reads. Usage: build-demo-image.sh OUT.tar [NAME:TAG]
set -euo pipefail
out=${1:?usage: build-demo-image.sh OUT.tar [name:tag]}
name=${2:-berth.local/demo/busybox:1.0}
tag=${name##*:}
work=$(mktemp -d /tmp/berth-demo-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
umoci init --layout "$work/layout" >/dev/null
umoci new --image "$work/layout:$tag" >/dev/null
umoci unpack --image "$work/layout:$tag" "$work/bundle" >/dev/null
root="$work/bundle/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/root" "$root/var/www"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in sh ash echo cat ls sleep id uname hostname env ps top date true false grep head tail wc \
              nc wget httpd mkdir rm touch mount df free ip ifconfig ping printf seq dd vi kill pidof; do
  ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
echo '<h1>hello from a Berth pod</h1>' > "$root/var/www/index.html"
umoci repack --image "$work/layout:$tag" "$work/bundle" >/dev/null
umoci config --image "$work/layout:$tag" --config.env PATH=/bin \
  --config.cmd /bin/sh --config.workingdir / >/dev/null
umoci gc --layout "$work/layout" >/dev/null
# Name the manifest so importers give the image its name (OCI ref annotation + containerd's image name).
tmp=$(mktemp)
jq --arg n "$name" '.manifests |= map(.annotations["io.containerd.image.name"] = $n
    | .annotations["org.opencontainers.image.ref.name"] = ($n | sub(".*:"; "")))' \
  "$work/layout/index.json" > "$tmp" && mv "$tmp" "$work/layout/index.json"
tar -C "$work/layout" -cf "$out" .
echo "$out: $name"
