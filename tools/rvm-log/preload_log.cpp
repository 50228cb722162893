#include "preload_log.h"

#include <stdlib.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "preload/path_log.h"
#include "preload/preload_config.h"
#include "preload/preload_record.h"
#include "preload/record_stream.h"
#include "shim/log_key.h"
#include "text_util.h"

namespace rvmr::tools {

namespace {

struct Scan {
  std::string cmd;  // "inspect" or "verify"
  std::string uri, name, path, path_problem;
  remote_log::LogInfo info;
  uint64_t records = 0, bytes = 0, end = 0;
  Status failure;  // the record that failed verification, if one did
};

// Connects, finds and opens the log (same epoch: the writer is not fenced),
// reads its path log, then every record, calling `each` for each verified
// one. Returns kExitError (with a message) if it cannot read the log.
template <typename Each>
int ScanLog(const std::string& uri, const std::string& name_arg, const RemoteOptions& ro,
            Scan* sc, std::ostream& err, Each each) {
  auto fail = [&](const std::string& m) {
    err << "rvm-log " << sc->cmd << ": " << m << "\n";
    return kExitError;
  };
  if (uri.empty()) return fail("a preload log is read from a server: give --remote URI");
  sc->uri = uri;
  sc->name = name_arg[0] == '/' ? preload::RemoteLogNameForPath(name_arg) : name_arg;
  ShimConfig shim;
  shim.log_key_file = ro.key_file;
  if (!ro.key_file.empty()) ::unsetenv("RVM_PRELOAD_KEY");
  std::string key, key_path;
  bool created = false;
  Status s = preload::LoadPreloadKey(shim, false, &key, &key_path, &created);
  if (!s.ok()) return fail(s.ToString() + " (the preload key; give --key-file)");
  remote_log::ConnectOptions co;
  s = ro.ToConnectOptions(&co);
  if (!s.ok()) return fail(s.ToString());
  co.owner_seed = log::OwnerSeed(key);
  std::unique_ptr<remote_log::Connection> c;
  s = remote_log::TransportRegistry::Global().Connect(uri, co, &c);
  std::vector<remote_log::LogEntry> logs;
  if (s.ok()) s = c->List(&logs);
  if (!s.ok()) return fail("log server " + uri + ": " + s.ToString());
  auto find = [&](const std::string& n) {
    return std::find_if(logs.begin(), logs.end(),
                        [&](const remote_log::LogEntry& e) { return e.name == n; });
  };
  auto it = find(sc->name);
  if (it == logs.end())
    return fail("log server " + uri + " holds no preload log named " + sc->name +
                (name_arg[0] == '/' ? " (the log of " + name_arg + ")" : std::string()) +
                " visible to this preload key");
  auto pit = find(preload::PathLogName(sc->name));
  if (pit == logs.end()) {
    sc->path_problem = "no path log on this server";
  } else {
    s = preload::ReadPathLog(c.get(), key, preload::SealMode::kAuthenticate, sc->name,
                             pit->info.epoch, &sc->path);
    if (s.ok() && preload::RemoteLogNameForPath(sc->path) != sc->name)
      s = Status::Corruption("the path log names " + sc->path + ", not this log's file");
    if (!s.ok()) {
      sc->path_problem = "path log: " + s.ToString();
      sc->path.clear();
    }
  }
  s = c->Open(sc->name, it->info.epoch, /*create=*/false, 0, &sc->info);
  if (!s.ok()) return fail("log server " + uri + ": opening " + sc->name + ": " + s.ToString());
  std::unique_ptr<preload::RecordCodec> codec;
  s = preload::RecordCodec::Create(key, sc->name, preload::SealMode::kAuthenticate, &codec);
  if (!s.ok()) return fail(s.ToString());
  preload::RecordStream rs(c.get(), codec.get(), sc->info.start, sc->info.tail);
  for (;;) {
    preload::RecordHeader h;
    std::string_view payload;
    s = rs.Next(&h, &payload);
    if (s.code() == Status::Code::kNotFound) break;
    if (!s.ok()) {
      if (s.code() != Status::Code::kCorruption)
        return fail("log server " + uri + ": reading " + sc->name + ": " + s.ToString());
      sc->failure = s;
      break;
    }
    ++sc->records;
    sc->bytes += h.length;
    each(rs.pos(), h, payload);
  }
  sc->end = rs.pos();
  return kExitOk;
}

const char* ModeName(preload::SealMode m) {
  switch (m) {
    case preload::SealMode::kEncrypt:
      return "encrypted";
    case preload::SealMode::kAuthenticate:
      return "authenticated";
    case preload::SealMode::kPlain:
      return "plain";
  }
  return "?";
}

// The status block and the summary; returns the exit status.
int Report(const Scan& sc, bool json, bool header, std::ostream& out, std::ostream& err) {
  const bool sound = sc.failure.ok() && sc.path_problem.empty();
  if (json) {
    out << "{\"kind\":\"" << (header ? "summary" : "verify") << "\",\"source\":\"remote\""
        << ",\"log_kind\":\"preload\",\"uri\":" << JsonString(sc.uri)
        << ",\"name\":" << JsonString(sc.name) << ",\"path\":" << JsonString(sc.path)
        << ",\"epoch\":" << sc.info.epoch << ",\"start\":" << sc.info.start
        << ",\"durable\":" << sc.info.durable << ",\"tail\":" << sc.info.tail
        << ",\"records\":" << sc.records << ",\"payload_bytes\":" << sc.bytes
        << ",\"verified_to\":" << sc.end << ",\"sound\":" << (sound ? "true" : "false");
    if (!sc.failure.ok()) out << ",\"failure\":" << JsonString(sc.failure.message());
    if (!sc.path_problem.empty()) out << ",\"path_problem\":" << JsonString(sc.path_problem);
    out << "}\n";
  } else {
    out << sc.records << " records, " << sc.bytes << " payload bytes, verified [" << sc.info.start
        << ", " << sc.end << ")";
    if (sc.failure.ok()) out << ": normal end\n";
    else out << ": FAILED\n";
  }
  if (!sc.failure.ok())
    err << "rvm-log " << sc.cmd << ": " << sc.uri << ": " << sc.name << ": "
        << sc.failure.ToString() << "; the record and what follows are not used\n";
  if (!sc.path_problem.empty())
    err << "rvm-log " << sc.cmd << ": " << sc.uri << ": " << sc.name
        << ": protected path unknown: " << sc.path_problem << "\n";
  return sound ? kExitOk : kExitProblem;
}

void PrintStatus(const Scan& sc, std::ostream& out) {
  out << "preload log " << sc.name << " on " << sc.uri << "\n";
  out << "  protects " << (sc.path.empty() ? "?" : sc.path) << "\n";
  out << "  epoch " << sc.info.epoch << "  start " << sc.info.start << "  durable "
      << sc.info.durable << "  tail " << sc.info.tail << "\n";
}

}  // namespace

bool IsPreloadLogName(const std::string& name) {
  return name.rfind("rvmpl-", 0) == 0 || (!name.empty() && name[0] == '/');
}

int RunInspectPreload(const InspectOptions& o, std::ostream& out, std::ostream& err) {
  Scan sc;
  sc.cmd = "inspect";
  std::vector<std::string> lines;
  int rc = ScanLog(o.remote_uri, o.name, o.remote, &sc, err,
                   [&](uint64_t at, const preload::RecordHeader& h, std::string_view payload) {
                     std::string line;
                     if (o.json) {
                       line = "{\"kind\":\"record\",\"offset\":" + std::to_string(at) +
                              ",\"type\":\"" + preload::RecordTypeName(h.type) +
                              "\",\"seal\":\"" + ModeName(h.mode) +
                              "\",\"arg\":" + std::to_string(h.arg) +
                              ",\"length\":" + std::to_string(h.length);
                       if (h.type != preload::RecordType::kData)
                         line += ",\"text\":" + JsonString(payload);
                       line += "}";
                     } else {
                       line = "offset " + std::to_string(at) + "  " +
                              preload::RecordTypeName(h.type) + "  " + ModeName(h.mode);
                       if (h.type == preload::RecordType::kData)
                         line += "  file offset " + std::to_string(h.arg) + "  " +
                                 std::to_string(h.length) + " bytes";
                       else if (h.type == preload::RecordType::kSize)
                         line += "  size " + std::to_string(h.arg);
                       else
                         line += "  " + std::string(payload);
                     }
                     lines.push_back(std::move(line));
                   });
  if (rc != kExitOk) return rc;
  if (!o.json) PrintStatus(sc, out);
  for (const std::string& l : lines) out << l << "\n";
  return Report(sc, o.json, true, out, err);
}

int RunVerifyPreload(const VerifyOptions& o, std::ostream& out, std::ostream& err) {
  Scan sc;
  sc.cmd = "verify";
  int rc = ScanLog(o.remote_uri, o.name, o.remote, &sc, err,
                   [](uint64_t, const preload::RecordHeader&, std::string_view) {});
  if (rc != kExitOk) return rc;
  if (!o.json) PrintStatus(sc, out);
  return Report(sc, o.json, false, out, err);
}

}  // namespace rvmr::tools
