// Internal helpers shared by the RDMA client and server: address parsing,
// waiting for rdma_cm events with a deadline, checking control messages.
#pragma once

#include <rdma/rdma_cma.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "remote_log/wire.h"

namespace rvmr::remote_log::rdma::internal {

// Resolves a numeric or named host and a port into *addr (IPv4 or IPv6).
Status ResolveAddress(const std::string& host, uint16_t port, sockaddr_storage* addr);

// Splits "host:port" / "[v6]:port". InvalidArgument otherwise.
Status SplitHostPort(const std::string& s, std::string* host, uint16_t* port);

// Makes the channel's fd non-blocking so waits can be bounded with poll(2).
Status MakeNonBlocking(int fd);

// Waits up to timeout_ms for the next event on `ch` and checks that it is
// `expected`; the event is acked before returning. Unavailable (with the
// event's name) for any other event, TimedOut when none arrives.
Status WaitCmEvent(rdma_event_channel* ch, int timeout_ms, rdma_cm_event_type expected);

// Checks one received control message in p[0..n): header, exact length and
// payload CRC. Corruption otherwise.
Status CheckMessage(const uint8_t* p, size_t n, wire::Header* h);

// Milliseconds left until `deadline` (0 when past).
int MillisLeft(std::chrono::steady_clock::time_point deadline);

}  // namespace rvmr::remote_log::rdma::internal
