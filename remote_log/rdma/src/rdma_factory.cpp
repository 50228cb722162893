// The "rdma" entry of TransportRegistry (declared in remote_log/transport.h).
#include "remote_log/rdma/rdma_connection.h"
#include "remote_log/transport.h"

namespace rvmr::remote_log {

TransportFactory MakeRdmaTransportFactory() {
  return [](const Endpoint& ep, const ConnectOptions& opts, std::unique_ptr<Connection>* out) {
    return rdma::RdmaConnection::Connect(ep, opts, out);
  };
}

}  // namespace rvmr::remote_log
