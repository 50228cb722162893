// A delaying TCP relay: stands in for a network between the RVM process and
// its mirrors (this kernel has no netem). It accepts on 127.0.0.1 and
// connects each client to 127.0.0.1:TARGET; every chunk read from either side
// is forwarded to the other when its own deadline (read time + half the round
// trip) has come, whatever came before it. So a pipelined stream keeps its
// overlap: two appends sent 10 us apart arrive 10 us apart, each delayed by
// the same amount, as on a wire with latency and ample bandwidth.
//
// The relay runs in a process of its own (the bench re-executes itself with
// --relay), so that its CPU is not counted in the RVM process's CPU figures.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace commit_bench {

// Starts `self --relay ...` relaying to 127.0.0.1:target_port with rtt_us/2
// microseconds added in each direction; stops it when destroyed.
class DelayRelay {
 public:
  DelayRelay(const std::string& self, uint16_t target_port, int rtt_us);
  ~DelayRelay();
  DelayRelay(const DelayRelay&) = delete;
  DelayRelay& operator=(const DelayRelay&) = delete;
  uint16_t port() const { return port_; }
  // CPU (user + system) the relay process has used so far, in seconds.
  double CpuSeconds() const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// The relay process. argv: --relay LISTEN_FD TARGET_PORT ONE_WAY_NS
int RelayMain(int argc, char** argv);

}  // namespace commit_bench
