#!/usr/bin/env bash
# run-in-vm.sh: runs a host-built program inside a throw-away qemu VM that has a
# Soft-RoCE device (rxe0 on 10.77.0.1) and exits with the program's exit status.
#
# usage: run-in-vm.sh [-t SECONDS] [-e NAME=VALUE]... [-f FILE]... PROGRAM [ARGS...]
#   -t SECONDS     wall-clock limit for the whole VM run (default $RVM_RXE_VM_TIMEOUT or 300)
#   -e NAME=VALUE  export this variable to the program inside the VM
#   -f FILE        also copy FILE into the VM's /payload (ELF files bring their libraries)
# PROGRAM runs in /payload as root with RVM_RDMA_TEST_ADDR=10.77.0.1, RXE_DEV=rxe0 and
# RXE_NETDEV=rxenet0 in its environment; shared libraries it needs that the image
# lacks (libasan, libcatch...) are copied from the host into /payload/lib.
# The image is built on first use (build-image.sh; cached, see there).
#
# Exit status: the program's, or 97 (image or qemu unavailable on this host),
# 98 (Soft-RoCE setup failed in the VM), 124 (timed out), 125 (VM ended without a result).
# Env: RVM_RXE_VM_MEM (default 1G), RVM_RXE_VM_CPUS (2), RVM_RXE_VM_ACCEL (tcg|kvm, default
# tcg), RVM_RXE_VM_CONSOLE=FILE keeps the full console log.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${RVM_RXE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rvm-rxe-vm}
IMAGE=$CACHE/image
timeout_s=${RVM_RXE_VM_TIMEOUT:-300}
envs=()
files=()

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while getopts 't:e:f:h' opt; do
  case $opt in
    t) timeout_s=$OPTARG ;;
    e) envs+=("$OPTARG") ;;
    f) files+=("$OPTARG") ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { usage >&2; exit 2; }
program=$1
shift

unavailable() { echo "rxe-vm: UNAVAILABLE: $*" >&2; exit 97; }
command -v qemu-system-x86_64 >/dev/null ||
  unavailable "qemu-system-x86_64 not found (Debian package qemu-system-x86; run scripts/setup)"
"$HERE/build-image.sh" || unavailable "the VM image could not be built (see above)"
[ -f "$program" ] || { echo "rxe-vm: no such program: $program" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rvm-rxe-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
payload=$tmp/payload
mkdir -p "$payload/lib"

# Copies FILE into the payload; for an ELF file also every library the image lacks.
add_payload() {
  local f=$1 lib
  cp -L "$f" "$payload/"
  chmod a+rX "$payload/$(basename "$f")"
  [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || return 0
  while read -r lib; do
    grep -qxF "$(basename "$lib")" "$IMAGE/libs.list" || cp -Ln "$lib" "$payload/lib/"
  done < <(ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}')
}
add_payload "$program"
for f in "${files[@]}"; do add_payload "$f"; done

{
  echo '#!/bin/sh'
  echo 'LD_LIBRARY_PATH=/payload/lib; export LD_LIBRARY_PATH'
  for kv in "${envs[@]}"; do
    printf 'export %q\n' "$kv"
  done
  printf 'exec ./%q' "$(basename "$program")"
  for a in "$@"; do printf ' %q' "$a"; done
  echo
} >"$payload/run.sh"
chmod 0755 "$payload/run.sh"
# A newc archive appended to another one overlays it when the kernel unpacks.
(cd "$tmp" && find payload | cpio -o -H newc -R 0:0 --quiet) >"$tmp/payload.cpio"
cat "$IMAGE/base.cpio" "$tmp/payload.cpio" >"$tmp/initrd"

case ${RVM_RXE_VM_ACCEL:-tcg} in
  kvm) accel=(-accel kvm -cpu host) ;;
  *) accel=(-accel tcg,thread=multi -cpu max) ;;
esac
console=${RVM_RXE_VM_CONSOLE:-$tmp/console.log}
started=$SECONDS
timeout --foreground -k 5 "$timeout_s" \
  qemu-system-x86_64 "${accel[@]}" -m "${RVM_RXE_VM_MEM:-1G}" -smp "${RVM_RXE_VM_CPUS:-2}" \
  -kernel "$IMAGE/kernel" -initrd "$tmp/initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off" \
  -nodefaults -display none -serial stdio -nic none -no-reboot </dev/null 2>&1 |
  tr -d '\r' | tee "$console" | sed -u -e '/^RVM-RXE-VM-RESULT=/d' -e '/reboot: Power down$/d' -e 's/\x1b[[(][0-9;?]*[a-zA-Z]//g; s/\x1bc//g'
qemu_status=${PIPESTATUS[0]}
status=$(sed -n 's/^RVM-RXE-VM-RESULT=\([0-9]*\)$/\1/p' "$console" | tail -n1)
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
  echo "rxe-vm: TIMED OUT after ${timeout_s}s" >&2
  status=124
elif [ -z "$status" ]; then
  echo "rxe-vm: the VM stopped (qemu status $qemu_status) without reporting a result" >&2
  status=125
fi
echo "rxe-vm: exit status $status after $((SECONDS - started))s" >&2
exit "$status"
