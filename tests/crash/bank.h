// The bank kept in an RVM segment by the crash suite's workload
// (bank_workload.cpp), and the oracle that checks it (crash_driver.cpp).
//
// Transaction k (k = 1, 2, ...) moves Amount(k) from account From(k) to
// account To(k), writes history slot k % kHistory and sets the committed
// counter to k. Everything is a function of k, so the state after k
// transactions is known exactly: a recovered bank must equal Expected(c)
// for its counter c (nothing partly applied, nothing invented).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace rvmr::crash {

constexpr uint64_t kBankMagic = 0x4b4e414252564d52ull;  // "RMVRBANK"
constexpr size_t kAccounts = 64;
constexpr size_t kHistory = 256;
constexpr int64_t kInitialBalance = 1000;
constexpr size_t kSegmentBytes = 4 * 4096;

struct HistoryEntry {
  uint64_t seq;
  uint32_t from;
  uint32_t to;
  int64_t amount;
  uint64_t check;  // Mix(seq)
};

struct Bank {
  uint64_t magic;
  uint64_t committed;  // the sequence number of the last committed transaction
  uint64_t reserved[6];
  int64_t balance[kAccounts];
  HistoryEntry history[kHistory];
};
static_assert(sizeof(Bank) <= kSegmentBytes);

inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline uint32_t From(uint64_t k) {
  return static_cast<uint32_t>(Mix(k) % kAccounts);
}
inline uint32_t To(uint64_t k) {
  uint32_t f = From(k);
  return static_cast<uint32_t>((f + 1 + Mix(k ^ 0x55) % (kAccounts - 1)) % kAccounts);
}
inline int64_t Amount(uint64_t k) {
  return static_cast<int64_t>(1 + Mix(k * 7) % 100);
}

// The history entry transaction k writes.
inline HistoryEntry Entry(uint64_t k) {
  return HistoryEntry{k, From(k), To(k), Amount(k), Mix(k)};
}

// Applies transaction k to *b (the workload does this inside the RVM
// transaction; the oracle to build Expected).
inline void ApplyTxn(Bank* b, uint64_t k) {
  b->balance[From(k)] -= Amount(k);
  b->balance[To(k)] += Amount(k);
  b->history[k % kHistory] = Entry(k);
  b->committed = k;
}

// The bank freshly created.
inline void InitBank(Bank* b) {
  std::memset(b, 0, sizeof(*b));
  b->magic = kBankMagic;
  for (size_t i = 0; i < kAccounts; i++) b->balance[i] = kInitialBalance;
}

// Checks *b against the state after exactly b->committed transactions.
// Returns "" if it matches, else what is wrong.
inline std::string CheckBank(const Bank& b) {
  if (b.magic != kBankMagic) return "bad magic";
  static Bank e;  // expected
  InitBank(&e);
  for (uint64_t k = 1; k <= b.committed; k++) ApplyTxn(&e, k);
  int64_t sum = 0;
  for (size_t i = 0; i < kAccounts; i++) sum += b.balance[i];
  if (sum != kInitialBalance * static_cast<int64_t>(kAccounts))
    return "sum of balances " + std::to_string(sum) + " broken (partly applied transaction)";
  for (size_t i = 0; i < kAccounts; i++)
    if (b.balance[i] != e.balance[i])
      return "balance " + std::to_string(i) + " is " + std::to_string(b.balance[i]) +
             ", expected " + std::to_string(e.balance[i]) + " after " +
             std::to_string(b.committed) + " transactions";
  if (std::memcmp(b.history, e.history, sizeof(e.history)) != 0)
    return "history ring differs from the " + std::to_string(b.committed) +
           " committed transactions";
  return "";
}

}  // namespace rvmr::crash
