// rvm-log stat: the live statistics of a running log server and its logs:
// each log's epoch, held range, durable point and bytes held only in memory,
// with append rates when sampled repeatedly.
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "commands.h"
#include "remote_copy.h"
#include "text_util.h"

namespace rvmr::tools {

int RunStat(const StatOptions& o, std::ostream& out, std::ostream& err) {
  using Clock = std::chrono::steady_clock;
  remote_log::ConnectOptions co;
  Status s = o.remote.ToConnectOptions(&co);
  if (!s.ok()) {
    err << "rvm-log stat: " << s.ToString() << "\n";
    return kExitError;
  }
  std::map<std::string, uint64_t> prev_tail;
  Clock::time_point prev_time;
  int samples = 0;
  for (;;) {
    auto t0 = Clock::now();
    std::vector<remote_log::LogEntry> logs;
    s = ListRemoteLogs(o.uri, co, &logs);
    auto t1 = Clock::now();
    if (!s.ok()) {
      err << "rvm-log stat: " << s.ToString() << "\n";
      return kExitError;
    }
    double rtt_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
    double dt = samples ? std::chrono::duration<double>(t1 - prev_time).count() : 0;
    uint64_t held = 0, not_durable = 0;
    for (const auto& e : logs) {
      held += e.info.tail - e.info.start;
      not_durable += e.info.not_durable();
    }
    if (o.json) {
      out << "{\"kind\":\"server\",\"uri\":" << JsonString(o.uri) << ",\"logs\":" << logs.size()
          << ",\"held\":" << held << ",\"not_durable\":" << not_durable
          << ",\"list_us\":" << uint64_t(rtt_us) << "}\n";
    } else {
      out << "log server " << o.uri << ": " << logs.size() << " logs, " << HumanBytes(held)
          << " held, " << HumanBytes(not_durable)
          << " not yet durable on the writers' disks (connect + list " << uint64_t(rtt_us)
          << " us)\n";
      if (!logs.empty()) {
        char line[256];
        std::snprintf(line, sizeof(line), "  %-32s %6s %14s %14s %14s %12s %12s%s", "NAME", "EPOCH",
                      "START", "TAIL", "DURABLE", "HELD", "NOT_DURABLE",
                      samples ? "   APPEND/s" : "");
        out << line << "\n";
      }
    }
    for (const auto& e : logs) {
      uint64_t nd = e.info.not_durable();
      double rate = -1;
      auto it = prev_tail.find(e.name);
      if (samples && it != prev_tail.end() && dt > 0 && e.info.tail >= it->second)
        rate = double(e.info.tail - it->second) / dt;
      if (o.json) {
        out << "{\"kind\":\"log\",\"name\":" << JsonString(e.name) << ",\"epoch\":" << e.info.epoch
            << ",\"start\":" << e.info.start << ",\"tail\":" << e.info.tail
            << ",\"durable\":" << e.info.durable << ",\"held\":" << e.info.tail - e.info.start
            << ",\"not_durable\":" << nd;
        if (rate >= 0) out << ",\"append_bytes_per_s\":" << uint64_t(rate);
        out << "}\n";
      } else {
        char line[320];
        std::snprintf(line, sizeof(line), "  %-32s %6llu %14llu %14llu %14llu %12s %12s",
                      e.name.c_str(), static_cast<unsigned long long>(e.info.epoch),
                      static_cast<unsigned long long>(e.info.start),
                      static_cast<unsigned long long>(e.info.tail),
                      static_cast<unsigned long long>(e.info.durable),
                      HumanBytes(e.info.tail - e.info.start).c_str(), HumanBytes(nd).c_str());
        out << line;
        if (rate >= 0) out << "   " << HumanBytes(uint64_t(rate)) << "/s";
        out << "\n";
      }
      prev_tail[e.name] = e.info.tail;
    }
    out << std::flush;
    prev_time = t1;
    samples++;
    if (o.interval_s <= 0 || (o.count > 0 && samples >= o.count)) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(o.interval_s));
  }
  return kExitOk;
}

}  // namespace rvmr::tools
