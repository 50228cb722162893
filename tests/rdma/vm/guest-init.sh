#!/bin/sh
# /init of the Soft-RoCE test VM (built by build-image.sh, started by run-in-vm.sh).
#
# Brings up a dummy Ethernet device with 10.77.0.1/24, loads rdma_rxe and binds a
# Soft-RoCE device rxe0 to it, then runs /payload/run.sh (put there by
# run-in-vm.sh) with RVM_RDMA_TEST_ADDR, RXE_DEV and RXE_NETDEV exported. The VM has
# no NIC: nothing leaves it. The last console line it prints is
#   RVM-RXE-VM-RESULT=<exit status>
# (98 when the VM could not set up Soft-RoCE), then it powers off.
PATH=/usr/sbin:/usr/bin
HOME=/root
export PATH HOME

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1

status=0
setup_failed() {
  echo "rxe-vm guest: setup failed: $*"
  status=98
}

while read -r ko; do
  insmod "$ko" 2>/dev/null || case $ko in
    *crc32*) ;;  # optional: rxe falls back to the library crc32
    *) setup_failed "insmod $ko" ;;
  esac
done </etc/rxe-modules

RXE_NETDEV=rxenet0
RXE_DEV=rxe0
RVM_RDMA_TEST_ADDR=10.77.0.1
export RXE_NETDEV RXE_DEV RVM_RDMA_TEST_ADDR
ip link set lo up
ip link add "$RXE_NETDEV" type dummy || setup_failed "ip link add dummy"
ip link set "$RXE_NETDEV" mtu 4500
ip addr add "$RVM_RDMA_TEST_ADDR/24" dev "$RXE_NETDEV" || setup_failed "ip addr add"
ip link set "$RXE_NETDEV" up || setup_failed "ip link set up"
rdma link add "$RXE_DEV" type rxe netdev "$RXE_NETDEV" || setup_failed "rdma link add"

if [ "$status" = 0 ]; then
  if [ -x /payload/run.sh ]; then
    cd /payload
    /payload/run.sh
    status=$?
  else
    ibv_devinfo
    status=$?
  fi
fi
echo "RVM-RXE-VM-RESULT=$status"
sync
poweroff -f
