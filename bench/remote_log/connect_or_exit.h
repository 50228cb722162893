// The remote_log benchmarks' way to connect (a MirrorSet to `uris`) and to
// check a call: on failure they exit with the reason on stderr.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "remote_log/client.h"

namespace rvmr::remote_log::bench {

// A failed call makes the figures meaningless: says why (`what`) and exits.
inline void OkOrExit(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

inline std::unique_ptr<MirrorSet> ConnectOrExit(const std::vector<std::string>& uris,
                                                bool busy_poll = false) {
  MirrorSetOptions mo;
  mo.uris = uris;
  mo.connect.busy_poll = busy_poll;
  std::unique_ptr<MirrorSet> m;
  Status s = MirrorSet::Connect(mo, &m);
  if (!s.ok()) {
    std::fprintf(stderr, "connect: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  return m;
}

}  // namespace rvmr::remote_log::bench
