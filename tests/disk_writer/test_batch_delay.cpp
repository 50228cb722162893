// DiskWriterOptions::batch_delay_us: small appends are gathered into few
// batches, and nobody who waits for durability ever waits for the timer.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "disk_writer/disk_writer.h"
#include "test_util.h"

using rvmr::DiskWriter;
using rvmr::DiskWriterOptions;
using rvmr::test::AppendPattern;
using rvmr::test::HoldsPattern;
using rvmr::test::ReadFile;
using rvmr::test::TempDir;

namespace {

std::unique_ptr<DiskWriter> OpenWriter(const TempDir& dir, uint32_t delay_us, bool fallback) {
  DiskWriterOptions o;
  o.path = dir.File("log");
  o.area_size = 4 << 20;
  o.staging_bytes = 1 << 20;
  o.batch_delay_us = delay_us;
  o.force_fallback = fallback;
  std::unique_ptr<DiskWriter> w;
  REQUIRE(DiskWriter::Open(o, &w).ok());
  return w;
}

// Appends Pattern bytes [from, from + n) at once; returns the new end.
uint64_t AppendPiece(DiskWriter* w, uint64_t from, size_t n) {
  AppendPattern(w, from, n, n);
  return from + n;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("DiskWriter batch delay gathers a stream of small appends into few batches",
          "[disk_writer][batch_delay]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  // 60 appends 1 ms apart; without a delay the idle writer starts a batch for
  // nearly every one of them.
  auto w = OpenWriter(dir, /*delay_us=*/200000, fallback);
  uint64_t end = 0;
  for (int i = 0; i < 60; i++) {
    end = AppendPiece(w.get(), end, 512);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(w->WaitDurable(end).ok());
  const uint64_t batches = w->stats().batches;
  CAPTURE(batches);
  CHECK(batches >= 1);
  CHECK(batches <= 10);
  REQUIRE(w->Close().ok());
  std::vector<char> file = ReadFile(dir.File("log"));
  REQUIRE(file.size() >= end);
  CHECK(HoldsPattern(file, 0, 0, end));
}

TEST_CASE("DiskWriter batch delay never holds back WaitDurable or Close",
          "[disk_writer][batch_delay]") {
  const bool fallback = GENERATE(false, true);
  CAPTURE(fallback);
  TempDir dir;
  // A delay far longer than the test may take: waiting for it would fail the
  // elapsed-time checks below (and time the test out).
  auto w = OpenWriter(dir, /*delay_us=*/5000000, fallback);
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t end = AppendPiece(w.get(), 0, 4096);
  REQUIRE(w->WaitDurable(end).ok());
  CHECK(SecondsSince(t0) < 2.5);
  CHECK(w->durable_offset() == end);

  // A waiter that arrives while the writer is already delaying wakes it.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto t1 = std::chrono::steady_clock::now();
  end = AppendPiece(w.get(), end, 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(w->WaitDurable(end).ok());
  CHECK(SecondsSince(t1) < 2.5);

  // Close makes the rest durable at once.
  end = AppendPiece(w.get(), end, 300);
  const auto t2 = std::chrono::steady_clock::now();
  REQUIRE(w->Close().ok());
  CHECK(SecondsSince(t2) < 2.5);
  std::vector<char> file = ReadFile(dir.File("log"));
  REQUIRE(file.size() >= end);
  CHECK(HoldsPattern(file, 0, 0, end));
}
