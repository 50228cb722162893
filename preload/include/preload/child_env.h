// ChildEnv: the environment for a program started without the preload shim
// or any RVM setting it did not ask for (the tests' and the benchmark's
// children): this process's environment less LD_PRELOAD and RVM_*, then
// `extra` ("NAME=value" strings) appended.
#pragma once

#include <unistd.h>

#include <string>
#include <vector>

namespace rvmr::preload {

inline std::vector<std::string> ChildEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string s = *e;
    if (s.rfind("LD_PRELOAD=", 0) == 0 || s.rfind("RVM_", 0) == 0) continue;
    env.push_back(s);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

}  // namespace rvmr::preload
