// Status block codec (both copies, torn writes) and LocalSink (wrap, fsync).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <vector>

#include "shim/local_sink.h"
#include "shim/log_format.h"
#include "shim/log_record_reader.h"
#include "shim/log_record_writer.h"
#include "shim/log_status.h"
#include "test_helpers.h"

using namespace rvmr;
using namespace rvmr::log;
using rvmr::testing::TempDir;

namespace {
void Poke(const std::string& path, off_t pos, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), pos) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}
}  // namespace

TEST_CASE("status block encodes, decodes and rejects damage") {
  LogStatus s;
  s.write_counter = 7;
  s.area_size = 1 << 20;
  s.head = 4096;
  s.head_lsn = 33;
  s.tail_hint = 8192;
  s.epoch = 4;
  s.log_id[3] = 0xab;
  s.create_time_ns = 99;
  std::vector<char> buf(kStatusCopySize);
  EncodeLogStatus(s, buf.data());
  LogStatus d;
  REQUIRE(DecodeLogStatus(buf.data(), &d).ok());
  CHECK(d.write_counter == 7);
  CHECK(d.area_size == (1u << 20));
  CHECK(d.head == 4096);
  CHECK(d.head_lsn == 33);
  CHECK(d.tail_hint == 8192);
  CHECK(d.epoch == 4);
  CHECK(d.log_id[3] == 0xab);
  CHECK(d.create_time_ns == 99);
  for (size_t pos : {0ul, 9ul, 12ul, 20ul, 45ul, 80ul, 100ul}) {
    std::vector<char> bad = buf;
    bad[pos] ^= 0x04;
    CHECK(!DecodeLogStatus(bad.data(), &d).ok());
  }
  LogStatus geom = s;
  geom.area_size = 12;  // not a multiple of 8
  EncodeLogStatus(geom, buf.data());
  CHECK(!DecodeLogStatus(buf.data(), &d).ok());
}

TEST_CASE("status writes alternate copies and a torn write keeps the previous status") {
  TempDir dir;
  std::string path = dir.File("log");
  LogStatus s;
  REQUIRE(CreateLogFile(path.c_str(), 65536, 0600, &s).ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(kStatusAreaSize + 65536));
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(!CreateLogFile(path.c_str(), 65536, 0600).ok());  // exists
  int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  LogStatus r;
  int which = -1;
  REQUIRE(ReadLogStatus(fd, &r, &which).ok());
  CHECK(r.log_id == s.log_id);
  CHECK(r.write_counter == s.write_counter);
  r.head = 800;
  r.tail_hint = 800;
  REQUIRE(WriteLogStatus(fd, &r).ok());
  int w1 = static_cast<int>(r.write_counter % 2);
  LogStatus back;
  REQUIRE(ReadLogStatus(fd, &back, &which).ok());
  CHECK(which == w1);
  CHECK(back.head == 800);
  // Tear the next write: it goes to the other copy; damage that copy.
  r.head = 1600;
  r.tail_hint = 1600;
  REQUIRE(WriteLogStatus(fd, &r).ok());
  int w2 = static_cast<int>(r.write_counter % 2);
  CHECK(w2 != w1);
  Poke(path, w2 * kStatusCopySize + 50, std::string(30, '\x5a'));
  REQUIRE(ReadLogStatus(fd, &back, &which).ok());
  CHECK(which == w1);
  CHECK(back.head == 800);
  // Both copies damaged: no valid status.
  Poke(path, w1 * kStatusCopySize + 1, "x");
  CHECK(ReadLogStatus(fd, &back).code() == Status::Code::kCorruption);
  ::close(fd);
}

TEST_CASE("a short file has no valid status") {
  TempDir dir;
  std::string path = dir.File("short");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "abc", 3) == 3);
  LogStatus s;
  CHECK(!ReadLogStatus(fd, &s).ok());
  ::close(fd);
  CHECK(!CreateLogFile(dir.File("bad").c_str(), 100, 0600).ok());
}

TEST_CASE("LocalSink appends at wrapped positions, straddling the end") {
  TempDir dir;
  std::string path = dir.File("log");
  const uint64_t area = 4096;
  LogStatus st;
  REQUIRE(CreateLogFile(path.c_str(), area, 0600, &st).ok());
  int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  uint64_t start = 2 * area - 200;  // third lap ends 200 bytes after start
  std::unique_ptr<LogSink> sink;
  LogSinkConfig cfg;
  cfg.fd = fd;
  cfg.path = path;
  cfg.status = st;
  cfg.tail = start;
  REQUIRE(OpenLogSink(cfg, &sink).ok());
  CHECK(sink->Describe().find(path) != std::string::npos);
  LogRecordWriter w(1, start, 1);
  std::string a, b;
  w.Add(&a, RecordType::kTransaction, 0, std::string(100, 'a'));
  w.Add(&b, RecordType::kTransaction, 0, std::string(300, 'b'));  // straddles
  std::string c1 = b.substr(0, 17), c2 = b.substr(17);
  struct iovec v1[] = {{a.data(), a.size()}};
  REQUIRE(sink->Append(start, v1, 1).ok());
  // Wrong offset is refused.
  CHECK(!sink->Append(start, v1, 1).ok());
  struct iovec v2[] = {{c1.data(), c1.size()}, {c2.data(), c2.size()}};
  REQUIRE(sink->Append(start + a.size(), v2, 2).ok());
  CHECK(sink->SyncToDisk(w.next_offset()).ok());
  CHECK(!sink->SyncToDisk(w.next_offset() + 8).ok());
  FileLogSource src(fd, st.area_start, st.area_size);
  LogRecordReader r(&src, start, start + area, 1);
  LogRecord rec;
  REQUIRE(r.ReadRecord(&rec).ok());
  CHECK(rec.payload == std::string(100, 'a'));
  REQUIRE(r.ReadRecord(&rec).ok());
  CHECK(rec.payload == std::string(300, 'b'));
  CHECK(r.offset() == w.next_offset());
  CHECK(r.offset() % area == 304);  // it really wrapped: 152 + 352 - 200
  // The status area was not touched by the appends.
  LogStatus again;
  REQUIRE(ReadLogStatus(fd, &again).ok());
  CHECK(again.write_counter == st.write_counter);
  ::close(fd);
}
