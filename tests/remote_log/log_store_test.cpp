// LogStore: append/read/trim/fence semantics and the capacity bound.
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "common/crc32c.h"
#include "remote_log/log_store.h"
#include "remote_log/wire.h"

using namespace rvmr::remote_log;

namespace {

std::vector<uint8_t> Bytes(size_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t((seed + i) * 2654435761u >> 13);
  return v;
}

}  // namespace

TEST_CASE("append and read back across chunk boundaries then trim") {
  LogStore store(64 << 20);
  std::shared_ptr<LogStore::Log> log;
  LogInfo info;
  REQUIRE(store.Open("l", 1, false, 0, &log, &info) == wire::kErrNotFound);
  REQUIRE(store.Open("l", 1, true, 100, &log, &info) == 0);
  CHECK(info.start == 100);
  CHECK(info.tail == 100);
  CHECK(info.durable == 100);
  auto data = Bytes(3 * LogStore::kChunkSize + 17, 5);
  uint64_t tail;
  size_t pos = 0;
  size_t step = 1000;
  while (pos < data.size()) {
    size_t n = std::min(step, data.size() - pos);
    REQUIRE(store.Append(log.get(), 1, 100 + pos, data.data() + pos, n, &tail) == 0);
    pos += n;
    step = step * 3 % 70001 + 1;
  }
  CHECK(tail == 100 + data.size());
  CHECK(store.used() == data.size());
  std::vector<uint8_t> out(data.size() + 10);
  size_t got;
  REQUIRE(store.Read(log.get(), 100, out.size(), out.data(), &got, &info) == 0);
  CHECK(got == data.size());
  CHECK(std::memcmp(out.data(), data.data(), got) == 0);
  REQUIRE(store.Read(log.get(), 100 + 300000, 10, out.data(), &got, &info) == 0);
  CHECK(std::memcmp(out.data(), data.data() + 300000, 10) == 0);
  // Duplicates and gaps.
  CHECK(store.Append(log.get(), 1, 100, data.data(), 1, &tail) == wire::kErrDuplicate);
  CHECK(store.Append(log.get(), 1, tail + 1, data.data(), 1, &tail) == wire::kErrGap);
  // Trim.
  REQUIRE(store.Trim(log.get(), 1, 100 + 600000, &info) == 0);
  CHECK(info.start == 100 + 600000);
  CHECK(info.durable == 100 + 600000);
  CHECK(store.used() == data.size() - 600000);
  CHECK(store.Read(log.get(), 100, 10, out.data(), &got, &info) == wire::kErrTrimmed);
  REQUIRE(store.Read(log.get(), 100 + 600000, 100, out.data(), &got, &info) == 0);
  CHECK(std::memcmp(out.data(), data.data() + 600000, 100) == 0);
  CHECK(store.Trim(log.get(), 1, tail + 1, &info) == wire::kErrInvalid);
  // Trim below the current point changes nothing.
  REQUIRE(store.Trim(log.get(), 1, 200, &info) == 0);
  CHECK(info.start == 100 + 600000);
  // Trim everything, then keep appending.
  REQUIRE(store.Trim(log.get(), 1, tail, &info) == 0);
  CHECK(store.used() == 0);
  REQUIRE(store.Append(log.get(), 1, tail, data.data(), 5000, &tail) == 0);
  REQUIRE(store.Read(log.get(), tail - 5000, 5000, out.data(), &got, &info) == 0);
  CHECK(std::memcmp(out.data(), data.data(), 5000) == 0);
  CHECK(store.Read(log.get(), tail + 1, 1, out.data(), &got, &info) == wire::kErrInvalid);
}

TEST_CASE("a higher epoch fences the older writer") {
  LogStore store(1 << 20);
  std::shared_ptr<LogStore::Log> a, b;
  LogInfo info;
  REQUIRE(store.Open("l", 5, true, 0, &a, &info) == 0);
  uint8_t x[8] = {};
  uint64_t tail;
  REQUIRE(store.Append(a.get(), 5, 0, x, 8, &tail) == 0);
  CHECK(store.Open("l", 4, false, 0, &b, &info) == wire::kErrFenced);
  REQUIRE(store.Open("l", 6, false, 0, &b, &info) == 0);
  CHECK(info.tail == 8);
  CHECK(info.epoch == 6);
  CHECK(store.Append(a.get(), 5, 8, x, 8, &tail) == wire::kErrFenced);
  CHECK(store.Trim(a.get(), 5, 8, &info) == wire::kErrFenced);
  CHECK(store.Append(b.get(), 6, 8, x, 8, &tail) == 0);
  CHECK(tail == 16);
  auto list = store.List();
  REQUIRE(list.size() == 1);
  CHECK(list[0].name == "l");
  CHECK(list[0].info.tail == 16);
}

TEST_CASE("capacity is shared by all logs and freed by trim") {
  LogStore store(10000);
  std::shared_ptr<LogStore::Log> a, b;
  LogInfo info;
  REQUIRE(store.Open("a", 1, true, 0, &a, &info) == 0);
  REQUIRE(store.Open("b", 1, true, 0, &b, &info) == 0);
  std::vector<uint8_t> d(6000);
  uint64_t tail;
  REQUIRE(store.Append(a.get(), 1, 0, d.data(), 6000, &tail) == 0);
  CHECK(store.Append(b.get(), 1, 0, d.data(), 6000, &tail) == wire::kErrNoSpace);
  CHECK(tail == 0);
  REQUIRE(store.Append(b.get(), 1, 0, d.data(), 4000, &tail) == 0);
  CHECK(store.Append(a.get(), 1, 6000, d.data(), 1, &tail) == wire::kErrNoSpace);
  REQUIRE(store.Trim(a.get(), 1, 3000, &info) == 0);
  CHECK(store.Append(a.get(), 1, 6000, d.data(), 3000, &tail) == 0);
  CHECK(store.used() == 10000);
  CHECK(store.Open("bad/name", 1, true, 0, &a, &info) == wire::kErrInvalid);
}

TEST_CASE("a checked append with a wrong CRC changes nothing") {
  LogStore store(1 << 20);
  std::shared_ptr<LogStore::Log> log;
  LogInfo info;
  REQUIRE(store.Open("c", 1, true, 0, &log, &info) == 0);
  auto d = Bytes(5000, 9);
  uint32_t good = rvmr::crc32c::Extend(123, d.data(), d.size());
  uint64_t tail;
  CHECK(store.AppendChecked(log.get(), 1, 0, d.data(), d.size(), 123, good ^ 1, &tail) ==
        wire::kErrChecksum);
  CHECK(tail == 0);
  CHECK(store.used() == 0);
  REQUIRE(store.AppendChecked(log.get(), 1, 0, d.data(), d.size(), 123, good, &tail) == 0);
  CHECK(tail == 5000);
  std::vector<uint8_t> out(5000);
  size_t got;
  REQUIRE(store.Read(log.get(), 0, 5000, out.data(), &got, &info) == 0);
  CHECK(out == d);
  CHECK(store.AppendChecked(log.get(), 1, 5000, d.data(), 0, 5, 6, &tail) == wire::kErrChecksum);
}

TEST_CASE("chunks trimmed from one log are reused by another without stale bytes") {
  // A small capacity bounds the pool of trimmed chunks kept for reuse.
  LogStore store(4 * LogStore::kChunkSize);
  std::shared_ptr<LogStore::Log> a, b;
  LogInfo info;
  REQUIRE(store.Open("a", 1, true, 0, &a, &info) == 0);
  REQUIRE(store.Open("b", 1, true, 77, &b, &info) == 0);
  auto da = Bytes(3 * LogStore::kChunkSize, 1);
  auto db = Bytes(3 * LogStore::kChunkSize + 999, 2);
  uint64_t tail;
  for (int round = 0; round < 3; ++round) {
    // Fill a, trim it all (its chunks go to the pool), then fill b from the
    // pool with checked appends at odd offsets and sizes.
    uint64_t start = uint64_t(round) * da.size();
    for (size_t pos = 0; pos < da.size(); pos += 65536)
      REQUIRE(store.Append(a.get(), 1, start + pos, da.data() + pos, 65536, &tail) == 0);
    REQUIRE(store.Trim(a.get(), 1, start + da.size(), &info) == 0);
    uint64_t bstart = 77 + uint64_t(round) * db.size();
    size_t pos = 0, step = 333;
    while (pos < db.size()) {
      size_t n = std::min(step, db.size() - pos);
      uint32_t crc = rvmr::crc32c::Extend(9, db.data() + pos, n);
      REQUIRE(store.AppendChecked(b.get(), 1, bstart + pos, db.data() + pos, n, 9, crc, &tail) ==
              0);
      pos += n;
      step = step * 7 % 100003 + 1;
    }
    std::vector<uint8_t> out(db.size());
    size_t got;
    REQUIRE(store.Read(b.get(), bstart, out.size(), out.data(), &got, &info) == 0);
    REQUIRE(got == db.size());
    CHECK(out == db);
    REQUIRE(store.Trim(b.get(), 1, bstart + db.size(), &info) == 0);
    CHECK(store.used() == 0);
  }
  // The capacity still bounds what is held.
  CHECK(store.Append(a.get(), 1, 3 * da.size(), da.data(), da.size(), &tail) == 0);
  CHECK(store.Append(a.get(), 1, 4 * da.size(), da.data(), da.size(), &tail) == wire::kErrNoSpace);
}
