#include "common/fault_point.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "common/diag.h"

namespace rvmr::fault {

std::atomic<int> g_state{0};

namespace {

enum class Action { kKill, kExit, kTorn, kOn, kEnospc, kEio };

struct Armed {
  std::string name;
  Action action = Action::kKill;
  uint64_t n = 1;
  std::atomic<uint64_t> hits{0};
};

constexpr size_t kMaxArmed = 16;
Armed g_armed[kMaxArmed];
size_t g_count = 0;
std::once_flag g_once;

const char* ActionName(Action a) {
  switch (a) {
    case Action::kKill:
      return "kill";
    case Action::kExit:
      return "exit";
    case Action::kTorn:
      return "torn";
    case Action::kOn:
      return "on";
    case Action::kEnospc:
      return "enospc";
    case Action::kEio:
      return "eio";
  }
  return "?";
}

// Parses one "name:action[:n]" item; false if malformed.
bool ParseItem(const std::string& item, Armed* a) {
  size_t c1 = item.find(':');
  if (c1 == std::string::npos || c1 == 0) return false;
  size_t c2 = item.find(':', c1 + 1);
  std::string act = item.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
  if (act == "kill")
    a->action = Action::kKill;
  else if (act == "exit")
    a->action = Action::kExit;
  else if (act == "torn")
    a->action = Action::kTorn;
  else if (act == "enospc")
    a->action = Action::kEnospc;
  else if (act == "eio")
    a->action = Action::kEio;
#if RVMR_MUTATIONS
  else if (act == "on" && item.compare(0, 10, "test_only.") == 0 && c2 == std::string::npos)
    a->action = Action::kOn;
#endif
  else
    return false;
  a->n = 1;
  if (c2 != std::string::npos) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(item.c_str() + c2 + 1, &end, 10);
    if (end == item.c_str() + c2 + 1 || *end != '\0' || v == 0) return false;
    a->n = v;
  }
  a->name = item.substr(0, c1);
  return true;
}

void Parse() {
  const char* env = ::getenv("RVM_FAULT");
  if (env != nullptr && *env != '\0') {
    std::string spec(env);
    size_t pos = 0;
    while (pos <= spec.size() && g_count < kMaxArmed) {
      size_t comma = spec.find(',', pos);
      std::string item =
          spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (!item.empty()) {
        if (ParseItem(item, &g_armed[g_count])) {
          if (g_armed[g_count].action == Action::kOn)
            Report(DiagLevel::kWarning, "fault: MUTATION %s is ON: durability is broken",
                   g_armed[g_count].name.c_str());
          g_count++;
        } else
          Report(DiagLevel::kWarning, "fault: ignoring malformed RVM_FAULT item '%s'",
                 item.c_str());
      }
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  g_state.store(g_count > 0 ? 2 : 1, std::memory_order_release);
}

Armed* Find(const char* name) {
  for (size_t i = 0; i < g_count; i++)
    if (g_armed[i].name == name) return &g_armed[i];
  return nullptr;
}

void Say(const char* name, uint64_t n, Action a) {
  Report(DiagLevel::kWarning, "fault: %s hit %llu: %s", name, static_cast<unsigned long long>(n),
         ActionName(a));
}

[[noreturn]] void Die(Action a) {
  if (a == Action::kExit) ::_exit(77);
  ::kill(::getpid(), SIGKILL);
  for (;;) ::pause();
}

bool IsErrno(Action a) {
  return a == Action::kEnospc || a == Action::kEio;
}

// The armed entry for `name` if this hit is the one that acts, else null.
Armed* Due(const char* name) {
  Armed* a = Find(name);
  if (a == nullptr || a->action == Action::kOn || IsErrno(a->action)) return nullptr;
  uint64_t h = a->hits.fetch_add(1, std::memory_order_relaxed) + 1;
  if (h != a->n) return nullptr;
  Say(name, h, a->action);
  return a;
}

}  // namespace

bool InitSlow() {
  std::call_once(g_once, Parse);
  return g_state.load(std::memory_order_acquire) == 2;
}

void Hit(const char* name) {
  Armed* a = Due(name);
  if (a != nullptr) Die(a->action);
}

void HitTorn(const char* name, int fd, const void* buf, size_t len, uint64_t pos) {
  Armed* a = Due(name);
  if (a == nullptr) return;
  if (a->action == Action::kTorn && len / 2 > 0)
    (void)!::pwrite(fd, buf, len / 2, static_cast<off_t>(pos));
  Die(a->action);
}

int HitErrno(const char* name) {
  Armed* a = Find(name);
  if (a == nullptr || !IsErrno(a->action)) return 0;
  uint64_t h = a->hits.fetch_add(1, std::memory_order_relaxed) + 1;
  if (h < a->n) return 0;
  if (h == a->n) Say(name, h, a->action);
  return a->action == Action::kEnospc ? -ENOSPC : -EIO;
}

#if RVMR_MUTATIONS
bool Active(const char* name) {
  Armed* a = Find(name);
  return a != nullptr && a->action == Action::kOn;
}
#endif

size_t ArmedCount() {
  InitSlow();
  return g_count;
}

}  // namespace rvmr::fault
