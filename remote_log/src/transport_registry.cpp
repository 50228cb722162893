#include <map>
#include <mutex>
#include <string>

#include "remote_log/tcp_connection.h"
#include "remote_log/transport.h"

namespace rvmr::remote_log {

struct TransportRegistry::Rep {
  mutable std::mutex mu;
  std::map<std::string, TransportFactory, std::less<>> factories;
};

TransportRegistry::TransportRegistry() : rep_(std::make_shared<Rep>()) {
  rep_->factories["tcp"] = &ConnectTcp;
#ifdef RVMR_HAVE_RDMA_TRANSPORT
  rep_->factories["rdma"] = MakeRdmaTransportFactory();
#endif
}

TransportRegistry& TransportRegistry::Global() {
  static TransportRegistry* registry = new TransportRegistry();
  return *registry;
}

void TransportRegistry::Register(std::string scheme, TransportFactory factory) {
  std::lock_guard<std::mutex> l(rep_->mu);
  rep_->factories[std::move(scheme)] = std::move(factory);
}

bool TransportRegistry::Has(std::string_view scheme) const {
  std::lock_guard<std::mutex> l(rep_->mu);
  return rep_->factories.find(scheme) != rep_->factories.end();
}

Status TransportRegistry::Connect(std::string_view uri, const ConnectOptions& opts,
                                  std::unique_ptr<Connection>* out) const {
  Endpoint ep;
  Status s = ParseUri(uri, &ep);
  if (!s.ok()) return s;
  TransportFactory f;
  {
    std::lock_guard<std::mutex> l(rep_->mu);
    auto it = rep_->factories.find(ep.scheme);
    if (it == rep_->factories.end())
      return Status::NotSupported("no transport for scheme '" + ep.scheme + "' in " + ep.uri +
                                  (ep.scheme == "rdma" ? " (built without RDMA support)" : ""));
    f = it->second;
  }
  return f(ep, opts, out);
}

}  // namespace rvmr::remote_log
