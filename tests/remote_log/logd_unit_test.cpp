// rvm-logd's pieces in-process: the Prometheus text builder and its
// escaping, the metrics endpoint's responses, the log line formats, and the
// report of logs with bytes their writers' disks do not have.
#include <catch2/catch.hpp>
#include <string>

#include "daemon_log.h"
#include "logd_daemon.h"
#include "metrics_http.h"
#include "prometheus_text.h"
#include "remote_log/log_store.h"

using namespace rvmr::remote_log;

TEST_CASE("Prometheus text: families, labels and escaping") {
  CHECK(PrometheusText::EscapeLabelValue("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(PrometheusText::EscapeHelp("x\\y\nz \"q\"") == "x\\\\y\\nz \"q\"");
  PrometheusText t;
  t.Family("rvm_logd_x_bytes", "gauge", "Bytes\nof x.");
  t.Sample("rvm_logd_x_bytes", {{"log", "a\"b"}, {"k", "v"}}, 7);
  t.Single("rvm_logd_y_total", "counter", "Ys.", 18446744073709551615ull);
  CHECK(t.text() ==
        "# HELP rvm_logd_x_bytes Bytes\\nof x.\n"
        "# TYPE rvm_logd_x_bytes gauge\n"
        "rvm_logd_x_bytes{log=\"a\\\"b\",k=\"v\"} 7\n"
        "# HELP rvm_logd_y_total Ys.\n"
        "# TYPE rvm_logd_y_total counter\n"
        "rvm_logd_y_total 18446744073709551615\n");
}

TEST_CASE("metrics endpoint responses") {
  int renders = 0;
  MetricsHttp h([&] {
    ++renders;
    return std::string("rvm_logd_logs 0\n");
  });
  std::string ok = h.Respond("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(ok ==
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        "Content-Length: 16\r\nConnection: close\r\n\r\nrvm_logd_logs 0\n");
  CHECK(renders == 1);
  CHECK(h.scrapes() == 1);
  CHECK(h.Respond("HEAD /metrics HTTP/1.0\r\n\r\n").find("\r\n\r\n") + 4 ==
        h.Respond("HEAD /metrics HTTP/1.0\r\n\r\n").size());
  CHECK(h.Respond("GET / HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200 OK", 0) == 0);
  CHECK(h.Respond("GET /secret HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 404", 0) == 0);
  CHECK(h.Respond("DELETE /metrics HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 405", 0) == 0);
  CHECK(h.Respond("").rfind("HTTP/1.0 400", 0) == 0);
  CHECK(h.Respond("garbage").rfind("HTTP/1.0 400", 0) == 0);
  // A truncated request line still gets an answer, never a crash.
  CHECK(h.Respond("GET").rfind("HTTP/1.0 400", 0) == 0);
  CHECK(h.Respond("GET /metr").rfind("HTTP/1.0 404", 0) == 0);
}

TEST_CASE("log lines: journal priority prefixes or 'rvm-logd: level:'") {
  DaemonLog& log = DaemonLog::Get();
  const bool was = log.journal();
  log.set_journal(true);
  CHECK(log.Format(DaemonLog::kError, "bad") == "<3>bad");
  CHECK(log.Format(DaemonLog::kWarning, "w") == "<4>w");
  CHECK(log.Format(DaemonLog::kDebug, "d") == "<7>d");
  log.set_journal(false);
  CHECK(log.Format(DaemonLog::kError, "bad") == "rvm-logd: error: bad");
  CHECK(log.Format(DaemonLog::kNotice, "n") == "rvm-logd: notice: n");
  log.set_journal(was);
  DaemonLog::Level l = DaemonLog::kInfo;
  CHECK(DaemonLog::ParseLevel("warning", &l));
  CHECK(l == DaemonLog::kWarning);
  CHECK(DaemonLog::ParseLevel("7", &l));
  CHECK(l == DaemonLog::kDebug);
  CHECK_FALSE(DaemonLog::ParseLevel("loud", &l));
  CHECK_FALSE(DaemonLog::ParseLevel("", &l));
}

TEST_CASE("pending logs: bytes above the durable mark, with and without a writer") {
  LogStore store(1 << 20);
  std::shared_ptr<LogStore::Log> a, b;
  LogInfo info;
  REQUIRE(store.Open("a", 1, true, 0, &a, &info) == 0);
  REQUIRE(store.Open("b", 1, true, 0, &b, &info) == 0);
  std::string bytes(500, 'x');
  uint64_t tail;
  REQUIRE(store.Append(a.get(), 1, 0, reinterpret_cast<const uint8_t*>(bytes.data()), 500,
                       &tail) == 0);
  REQUIRE(store.Append(b.get(), 1, 0, reinterpret_cast<const uint8_t*>(bytes.data()), 300,
                       &tail) == 0);
  REQUIRE(store.Trim(a.get(), 1, 200, &info) == 0);
  store.Attach(a.get());
  auto with = LogdDaemon::PendingLogs(store, true);
  REQUIRE(with.size() == 1);
  CHECK(with[0].name == "a");
  CHECK(with[0].bytes == 300);
  CHECK(with[0].writers == 1);
  auto all = LogdDaemon::PendingLogs(store, false);
  REQUIRE(all.size() == 2);
  CHECK(LogdDaemon::Describe(all) == "'a' 300 bytes, 'b' 300 bytes");
  REQUIRE(store.Trim(a.get(), 1, 500, &info) == 0);
  CHECK(LogdDaemon::PendingLogs(store, true).empty());
  store.Detach(a.get());
  CHECK(LogdDaemon::PendingLogs(store, false).size() == 1);
}
