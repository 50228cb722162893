#!/usr/bin/env bash
# build-image.sh: builds the Soft-RoCE test VM used by tests/rdma (see docs/rdma.md).
#
# The VM is a stock Debian 12 kernel booted by qemu with a busybox initramfs that
# carries the rdma_rxe (Soft-RoCE) modules and rdma-core's userspace (libibverbs,
# the rxe provider, librdmacm, the iproute2 `rdma` tool). Everything comes from
# Debian packages fetched with `apt-get download` and unpacked with `dpkg-deb -x`;
# nothing is installed on the host.
#
# Output (in $CACHE/image, CACHE=${RVM_RXE_VM_CACHE:-${XDG_CACHE_HOME:-~/.cache}/rvm-rxe-vm}):
#   kernel      the kernel to boot (uncompressed ELF vmlinux when it could be
#               extracted: qemu starts it through PVH, much faster under TCG;
#               else the bzImage)
#   base.cpio   the initramfs (newc); a payload archive may be appended to it
#   libs.list   the shared libraries the image provides (basenames)
#   stamp       hash of the inputs; the image is rebuilt when it changes
#
# Host requirements: apt-get/apt-cache/dpkg-deb (Debian), cpio, ldd, flock;
# python3 only to extract vmlinux (optional). Run as root if the apt lists are
# missing (`apt-get update`). Exits 0 when the image is ready, non-zero with a
# message on stderr otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${RVM_RXE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rvm-rxe-vm}
IMAGE=$CACHE/image
DEBS=$CACHE/debs
ARCHLIB=usr/lib/x86_64-linux-gnu

say() { echo "rxe-vm build: $*" >&2; }
die() { echo "rxe-vm build: ERROR: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb cpio ldd flock; do
  command -v "$tool" >/dev/null || die "'$tool' not found (Debian host with cpio and util-linux needed; see scripts/setup)"
done

mkdir -p "$CACHE" "$DEBS"
exec 9>"$CACHE/.lock"
flock 9  # one builder at a time (ctest -j, several build trees)

# ------------------------------------------------------------------ inputs
# The image is rebuilt when this script, the guest's /init or the package list
# changes, or with RVM_RXE_VM_REBUILD=1 (e.g. to pick up a newer Debian kernel).
userland=(
  busybox-static
  libibverbs1 ibverbs-providers librdmacm1 libnl-3-200 libnl-route-3-200 ibverbs-utils
  iproute2 libmnl0 libbsd0 libmd0 libcap2 libelf1 libbpf1 zlib1g
  libc6 libgcc-s1 libstdc++6
)
stamp=$( { printf '%s\n' "${userland[@]}" "${RVM_RXE_VM_KERNEL_PKG:-}"; cat "$HERE/build-image.sh" "$HERE/guest-init.sh"; } | sha256sum | cut -c1-16)
if [ "${RVM_RXE_VM_REBUILD:-0}" != 1 ] && [ -f "$IMAGE/stamp" ] &&
   [ "$(cat "$IMAGE/stamp")" = "$stamp" ] && [ -s "$IMAGE/kernel" ] && [ -s "$IMAGE/base.cpio" ]; then
  exit 0
fi

kernel_pkg=${RVM_RXE_VM_KERNEL_PKG:-}
resolve_kernel() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}
if [ -z "$kernel_pkg" ]; then
  kernel_pkg=$(resolve_kernel)
  if [ -z "$kernel_pkg" ]; then
    say "apt lists lack linux-image-amd64; running apt-get update"
    apt-get update -qq || die "apt-get update failed (no network / not root?)"
    kernel_pkg=$(resolve_kernel)
  fi
  [ -n "$kernel_pkg" ] || die "cannot resolve the Debian kernel package behind linux-image-amd64"
fi
kver=${kernel_pkg#linux-image-}
packages=("$kernel_pkg" "${userland[@]}")
say "building image for kernel $kver in $IMAGE"

# ------------------------------------------------------------------ download
missing=()
for p in "${packages[@]}"; do
  compgen -G "$DEBS/${p}_*.deb" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
  say "apt-get download ${missing[*]}"
  if ! (cd "$DEBS" && apt-get download "${missing[@]}" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null 2>&1 || true
    (cd "$DEBS" && apt-get download "${missing[@]}" >/dev/null) ||
      die "apt-get download failed (no network to the Debian mirrors?)"
  fi
fi

# ------------------------------------------------------------------ unpack
work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage
root=$work/root
mkdir -p "$stage"
for p in "${userland[@]}"; do
  deb=$(compgen -G "$DEBS/${p}_*.deb" | sort -V | tail -n1)
  dpkg-deb -x "$deb" "$stage"
done
# From the kernel package only the image and the module directories that hold
# rxe's dependency closure (unpacking all of it writes ~400 MB).
kdeb=$(compgen -G "$DEBS/${kernel_pkg}_*.deb" | sort -V | tail -n1)
kmods=./lib/modules/$kver
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$stage" --wildcards \
  "./boot/vmlinuz-$kver" "$kmods/modules.*" "$kmods/kernel/drivers/infiniband/*" \
  "$kmods/kernel/net/ipv4/*" "$kmods/kernel/net/ipv6/*" "$kmods/kernel/fs/configfs/*" \
  "$kmods/kernel/drivers/net/dummy.ko" "$kmods/kernel/crypto/*" "$kmods/kernel/lib/*" ||
  die "cannot unpack $kdeb"
# Debian 12 is merged-/usr on installed systems but packages still ship /lib and /bin.
stage_lib_path="$stage/$ARCHLIB:$stage/lib/x86_64-linux-gnu"

# ------------------------------------------------------------------ root tree
mkdir -p "$root"/{usr/bin,usr/sbin,"$ARCHLIB",usr/lib64,etc,proc,sys,dev,tmp,run,root,payload}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

install -m 0755 "$stage/bin/busybox" "$root/usr/bin/busybox"
for applet in $("$stage/bin/busybox" --list); do
  case $applet in busybox | ip) continue ;; esac
  [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
done

elves=()
for b in bin/ip usr/bin/rdma usr/bin/ibv_devices usr/bin/ibv_devinfo; do
  install -m 0755 "$stage/$b" "$root/usr/bin/"
  elves+=("$root/usr/bin/$(basename "$b")")
done

# rdma-core: libibverbs finds its providers through /etc/libibverbs.d.
mkdir -p "$root/$ARCHLIB/libibverbs" "$root/etc/libibverbs.d"
cp "$stage/$ARCHLIB"/libibverbs/librxe-rdmav*.so "$root/$ARCHLIB/libibverbs/"
cp "$stage/etc/libibverbs.d/rxe.driver" "$root/etc/libibverbs.d/"
for l in libibverbs.so.1 librdmacm.so.1 libstdc++.so.6; do
  cp -L "$stage/$ARCHLIB/$l" "$root/$ARCHLIB/"
done
# glibc, libgcc_s (dlopen()ed by glibc for thread cancellation, so ldd misses it)
for l in libc.so.6 libm.so.6 libgcc_s.so.1; do
  cp -L "$stage/lib/x86_64-linux-gnu/$l" "$root/$ARCHLIB/"
done
cp -L "$stage/lib64/ld-linux-x86-64.so.2" "$root/usr/lib64/"

# Shared-library closure of every ELF in the image, taken from the unpacked packages.
add_closure() {
  local f lib base
  for f in "$@"; do
    while read -r lib; do
      base=$(basename "$lib")
      [ -e "$root/$ARCHLIB/$base" ] || [ "$base" = ld-linux-x86-64.so.2 ] && continue
      case $lib in
        "$stage"/*) cp -L "$lib" "$root/$ARCHLIB/" ;;
        *) die "$f needs $base, which no staged package provides (add its package)" ;;
      esac
    done < <(LD_LIBRARY_PATH=$stage_lib_path ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}')
  done
}
add_closure "${elves[@]}" "$root/$ARCHLIB"/*.so* "$root/$ARCHLIB"/libibverbs/*.so
add_closure "$root/$ARCHLIB"/*.so*

# ------------------------------------------------------------------ kernel modules
# No kmod in the image: the modules are loaded with busybox insmod in an order
# resolved here from each module's .modinfo "depends=" field.
moddir=$stage/lib/modules/$kver
[ -d "$moddir" ] || die "kernel package $kernel_pkg has no lib/modules/$kver"
declare -A ko_path=()
while IFS= read -r ko; do
  name=$(basename "$ko" .ko)
  ko_path[${name//-/_}]=$ko
done < <(cd "$moddir" && find kernel -name '*.ko')
declare -A visited=()
load_order=()
visit() {
  local m=${1//-/_} deps d
  [ -n "${visited[$m]:-}" ] && return 0
  visited[$m]=1
  if [ -z "${ko_path[$m]:-}" ]; then
    grep -q "/$m.ko\$\|/${m//_/-}.ko\$" "$moddir/modules.builtin" && return 0
    die "kernel module $m not found in $kernel_pkg"
  fi
  deps=$(tr '\0' '\n' <"$moddir/${ko_path[$m]}" | sed -n 's/^depends=//p' | head -n1)
  for d in ${deps//,/ }; do visit "$d"; done
  load_order+=("${ko_path[$m]}")
}
# rxe itself, the verbs and rdma_cm user interfaces, a dummy netdev for rxe to sit
# on, and a crc32 shash implementation (rxe's ICRC prefers the crypto API).
for m in rdma_rxe ib_uverbs rdma_ucm dummy crc32_generic; do visit "$m"; done
mkdir -p "$root/usr/lib/modules"
: >"$root/etc/rxe-modules"
for rel in "${load_order[@]}"; do
  cp "$moddir/$rel" "$root/usr/lib/modules/"
  echo "/lib/modules/$(basename "$rel")" >>"$root/etc/rxe-modules"
done

# ------------------------------------------------------------------ /etc, /init
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
printf '127.0.0.1 localhost\n' >"$root/etc/hosts"
printf '/%s\n/payload/lib\n' "$ARCHLIB" >"$root/etc/ld.so.conf"
install -m 0755 "$HERE/guest-init.sh" "$root/init"

# ------------------------------------------------------------------ pack
mkdir -p "$IMAGE"
rm -f "$IMAGE/stamp"
kernel_src=$stage/boot/vmlinuz-$kver
# The bzImage decompresses itself in the guest, which costs seconds under TCG;
# qemu can boot the ELF vmlinux directly through its PVH entry note.
rm -f "$IMAGE/kernel.tmp"
if command -v python3 >/dev/null &&
   python3 - "$kernel_src" "$IMAGE/kernel.tmp" <<'PY'
import lzma, sys
blob = open(sys.argv[1], "rb").read()
start = blob.find(b"\xfd7zXZ\x00")
if start < 0:
    sys.exit(1)
elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(blob[start:])
if elf[:4] != b"\x7fELF":
    sys.exit(1)
open(sys.argv[2], "wb").write(elf)
PY
then
  mv "$IMAGE/kernel.tmp" "$IMAGE/kernel"
else
  say "could not extract vmlinux (python3/xz); booting the bzImage instead"
  cp "$kernel_src" "$IMAGE/kernel"
fi
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$IMAGE/base.cpio"
(cd "$root/$ARCHLIB" && find . -maxdepth 1 -name '*.so*' -printf '%f\n' | sort) >"$IMAGE/libs.list"
echo "$kver" >"$IMAGE/kver"
echo "$stamp" >"$IMAGE/stamp"
say "done: $(du -h "$IMAGE/base.cpio" | cut -f1) initramfs, kernel $kver"
