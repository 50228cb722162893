#include "remote_log/rdma/rdma_server.h"

#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <rdma/rdma_cma.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "cm_util.h"
#include "remote_log/auth.h"
#include "remote_log/rdma/layout.h"
#include "remote_log/wire.h"
#include "common/thread.h"

namespace rvmr::remote_log::rdma {

namespace {

constexpr int kRecvBufs = 4;
constexpr int kSendBufs = 4;
constexpr size_t kMaxConns = 128;
constexpr int kCqDepth = int(kMaxConns) * (kRecvBufs + kSendBufs) + 16;
constexpr uint64_t kKindRecv = 1;
constexpr uint64_t kKindSend = 2;

uint64_t WrId(uint64_t serial, uint64_t kind, int index) {
  return (serial << 8) | (kind << 4) | uint64_t(index);
}

uint64_t PageRound(uint64_t n) {
  return (n + 4095) & ~uint64_t(4095);
}

}  // namespace

struct RdmaServer::Log {
  std::string name;
  bool owned = false;                        // created with an owner key (never changes)
  uint8_t owner[wire::kOwnerKeySize] = {};
  uint8_t* region = nullptr;
  size_t region_size = 0;
  uint64_t ring_size = 0;
  uint64_t epoch = 0;
  uint64_t start = 0;
  uint64_t durable = 0;
  uint64_t checked_tail = 0;  // the last plausible tail read from the control word
  Conn* writer = nullptr;     // the connection holding the live registration
  ibv_mr* mr = nullptr;       // registration in writer's protection domain
};

struct RdmaServer::Conn {
  uint64_t serial = 0;
  rdma_cm_id* id = nullptr;
  ibv_pd* pd = nullptr;
  bool qp = false;
  uint8_t* mem = nullptr;
  size_t mem_size = 0;
  ibv_mr* mr = nullptr;
  bool send_busy[kSendBufs] = {};
  bool hello_done = false;
  bool authenticated = false;
  uint8_t nonce[wire::kNonceSize] = {};
  // After AUTH: the control MACs' session key, and the last request ids
  // whose MAC and owner proof were accepted (ids only grow: no replay).
  bool mac_required = false;
  uint8_t session_key[wire::kMacSize] = {};
  uint64_t last_mac_id = 0;
  uint64_t last_proof_id = 0;
  Log* log = nullptr;              // the log this connection opened (maybe fenced since)
  bool close_after_reply = false;  // a fatal refusal is being sent; disconnect once it is out
  // ... or at this time, for a client that never takes the reply (no receive posted).
  std::chrono::steady_clock::time_point close_deadline;
  // Disconnected at this time unless authenticated by then.
  std::chrono::steady_clock::time_point auth_deadline;
  bool established = false;  // rdma_cm reported ESTABLISHED
  bool closing = false;      // disconnect requested (done at ESTABLISHED if not yet)

  uint8_t* recv_buf(int i) { return mem + size_t(i) * kMaxControlMessage; }
  uint8_t* send_buf(int i) { return mem + size_t(kRecvBufs + i) * kMaxControlMessage; }
};

RdmaServer::RdmaServer(RdmaServerOptions options)
    : options_(std::move(options)), secret_(options_.secret) {}

RdmaServer::~RdmaServer() {
  Stop();
}

Status RdmaServer::Start() {
  if (started_) return Status::InvalidArgument("rdma server: already started");
  if (options_.secret.empty() && !options_.allow_unauthenticated) {
    return Status::InvalidArgument(
        "rdma server: a shared secret is required (RDMA addresses are never loopback)");
  }
  if (Status len = auth::CheckSecretLength(options_.secret, "rdma server"); !len.ok()) return len;
  if (options_.ring_size < kMinRingSize) {
    return Status::InvalidArgument("rdma server: ring size below " + std::to_string(kMinRingSize));
  }
  std::string host;
  uint16_t port = 0;
  Status s = internal::SplitHostPort(options_.listen, &host, &port);
  if (!s.ok()) return s;
  sockaddr_storage addr;
  s = internal::ResolveAddress(host, port, &addr);
  if (!s.ok()) return s;

  cm_channel_ = rdma_create_event_channel();
  if (cm_channel_ == nullptr) {
    return Status::Unavailable("rdma server: rdma_create_event_channel failed (no RDMA device?): " +
                               std::string(strerror(errno)));
  }
  s = internal::MakeNonBlocking(cm_channel_->fd);
  if (!s.ok()) return s;
  if (rdma_create_id(cm_channel_, &listen_id_, nullptr, RDMA_PS_TCP) != 0) {
    return Status::IoError("rdma server: rdma_create_id", errno);
  }
  if (rdma_bind_addr(listen_id_, reinterpret_cast<sockaddr*>(&addr)) != 0) {
    return Status::IoError("rdma server: cannot bind " + options_.listen, errno);
  }
  if (listen_id_->verbs == nullptr) {
    return Status::Unavailable("rdma server: " + host +
                               " is not the address of an RDMA device's interface");
  }
  if (rdma_listen(listen_id_, 64) != 0) return Status::IoError("rdma server: rdma_listen", errno);
  port_ = ntohs(rdma_get_src_port(listen_id_));
  ibv_device_attr dev{};
  if (ibv_query_device(listen_id_->verbs, &dev) != 0) {
    return Status::IoError("rdma server: ibv_query_device", errno);
  }
  atomics_ = dev.atomic_cap != IBV_ATOMIC_NONE;

  comp_channel_ = ibv_create_comp_channel(listen_id_->verbs);
  if (comp_channel_ == nullptr)
    return Status::IoError("rdma server: ibv_create_comp_channel", errno);
  s = internal::MakeNonBlocking(comp_channel_->fd);
  if (!s.ok()) return s;
  cq_ = ibv_create_cq(listen_id_->verbs, kCqDepth, nullptr, comp_channel_, 0);
  if (cq_ == nullptr) return Status::IoError("rdma server: ibv_create_cq", errno);
  if (ibv_req_notify_cq(cq_, 0) != 0) return Status::IoError("rdma server: ibv_req_notify_cq", EIO);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::IoError("rdma server: eventfd", errno);
  started_ = true;
  loop_ = StartThread("rvm-logd-rdma", [this] { Loop(); });
  return Status::Ok();
}

void RdmaServer::Stop() {
  if (started_ && !stopping_.exchange(true)) {
    uint64_t one = 1;
    ssize_t w = write(wake_fd_, &one, sizeof(one));
    (void)w;
    loop_.join();
  }
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [serial, c] : conns_) {
    if (!c->closing) rdma_disconnect(c->id);
    c->closing = true;
  }
  while (!conns_.empty()) Teardown(conns_.begin()->second.get());
  for (auto& [name, log] : logs_) {
    ReleaseWriter(log.get());
    munmap(log->region, log->region_size);
  }
  logs_.clear();
  ring_bytes_ = 0;
  if (cq_ != nullptr) ibv_destroy_cq(cq_);
  cq_ = nullptr;
  if (comp_channel_ != nullptr) ibv_destroy_comp_channel(comp_channel_);
  comp_channel_ = nullptr;
  if (listen_id_ != nullptr) rdma_destroy_id(listen_id_);
  listen_id_ = nullptr;
  if (cm_channel_ != nullptr) rdma_destroy_event_channel(cm_channel_);
  cm_channel_ = nullptr;
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
}

void RdmaServer::Loop() {
  pollfd fds[3] = {
      {cm_channel_->fd, POLLIN, 0}, {comp_channel_->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  int timeout_ms = 1000;
  while (!stopping_.load()) {
    int rc = poll(fds, 3, timeout_ms);
    if (rc < 0 && errno != EINTR) break;
    std::lock_guard<std::mutex> l(mu_);
    HandleCmEvents();
    HandleCompletions();
    // Connections whose fatal reply was not taken in time are closed anyway,
    // and so are those not authenticated in time; the next deadline is the
    // poll timeout.
    timeout_ms = 1000;
    const auto now = std::chrono::steady_clock::now();
    const bool need_auth = !secret_.empty();
    for (auto& [serial, c] : conns_) {
      if (c->closing) continue;
      if (c->close_after_reply) {
        if (now >= c->close_deadline) {
          CloseConn(c.get());
          continue;
        }
        timeout_ms = 100;
      }
      if (c->hello_done && (c->authenticated || !need_auth)) continue;
      if (now >= c->auth_deadline) {
        auth_timeouts_++;
        CloseConn(c.get());
      } else {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c->auth_deadline - now);
        timeout_ms = std::min<int>(timeout_ms, int(left.count()) + 1);
      }
    }
  }
}

void RdmaServer::HandleCmEvents() {
  rdma_cm_event* ev = nullptr;
  while (rdma_get_cm_event(cm_channel_, &ev) == 0) {
    rdma_cm_event_type type = ev->event;
    rdma_cm_id* id = ev->id;
    uint8_t initiator_depth = ev->param.conn.initiator_depth;
    rdma_ack_cm_event(ev);
    Conn* c = id != listen_id_ ? static_cast<Conn*>(id->context) : nullptr;
    switch (type) {
      case RDMA_CM_EVENT_CONNECT_REQUEST:
        OnConnectRequest(id, initiator_depth);
        break;
      case RDMA_CM_EVENT_ESTABLISHED:
        // A client may send before the server sees ESTABLISHED; a disconnect
        // asked for before then takes effect now.
        if (c != nullptr) {
          c->established = true;
          if (c->closing) rdma_disconnect(c->id);
        }
        break;
      case RDMA_CM_EVENT_DISCONNECTED:
      case RDMA_CM_EVENT_CONNECT_ERROR:
      case RDMA_CM_EVENT_UNREACHABLE:
      case RDMA_CM_EVENT_REJECTED:
        if (c != nullptr) Teardown(c);
        break;
      default:
        break;
    }
  }
}

void RdmaServer::OnConnectRequest(rdma_cm_id* id, uint8_t initiator_depth) {
  const size_t limit = std::min<size_t>(kMaxConns, options_.max_connections);
  if (conns_.size() >= limit || id->verbs != listen_id_->verbs) {
    if (id->verbs == listen_id_->verbs) refused_++;
    rdma_reject(id, nullptr, 0);
    rdma_destroy_id(id);
    return;
  }
  auto owned = std::make_unique<Conn>();
  Conn* c = owned.get();
  c->serial = next_serial_++;
  c->id = id;
  c->auth_deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.auth_timeout_ms);
  id->context = c;
  conns_[c->serial] = std::move(owned);
  bool ok = false;
  do {
    c->pd = ibv_alloc_pd(id->verbs);
    if (c->pd == nullptr) break;
    ibv_qp_init_attr qa{};
    qa.send_cq = cq_;
    qa.recv_cq = cq_;
    qa.qp_type = IBV_QPT_RC;
    qa.cap.max_send_wr = kSendBufs;
    qa.cap.max_recv_wr = kRecvBufs;
    qa.cap.max_send_sge = 1;
    qa.cap.max_recv_sge = 1;
    if (rdma_create_qp(id, c->pd, &qa) != 0) break;
    c->qp = true;
    c->mem_size = size_t(kRecvBufs + kSendBufs) * kMaxControlMessage;
    void* m =
        mmap(nullptr, c->mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) break;
    c->mem = static_cast<uint8_t*>(m);
    c->mr = ibv_reg_mr(c->pd, c->mem, c->mem_size, IBV_ACCESS_LOCAL_WRITE);
    if (c->mr == nullptr) break;
    bool posted = true;
    for (int i = 0; i < kRecvBufs && posted; ++i) posted = PostRecv(c, i);
    if (!posted) break;
    ibv_device_attr dev{};
    if (ibv_query_device(id->verbs, &dev) != 0) break;
    rdma_conn_param cp{};
    cp.responder_resources = uint8_t(std::min<int>(initiator_depth, dev.max_qp_rd_atom));
    cp.initiator_depth = 0;
    cp.rnr_retry_count = 7;
    if (rdma_accept(id, &cp) != 0) break;
    ok = true;
  } while (false);
  if (ok) {
    accepted_++;
    return;
  }
  rdma_reject(id, nullptr, 0);
  c->closing = true;
  Teardown(c);
}

bool RdmaServer::PostRecv(Conn* c, int index) {
  ibv_sge sge{reinterpret_cast<uintptr_t>(c->recv_buf(index)), uint32_t(kMaxControlMessage),
              c->mr->lkey};
  ibv_recv_wr wr{};
  wr.wr_id = WrId(c->serial, kKindRecv, index);
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  return ibv_post_recv(c->id->qp, &wr, &bad) == 0;
}

void RdmaServer::CloseConn(Conn* c) {
  if (c->closing) return;
  c->closing = true;
  // Revoke first: nothing of this connection may land after it is refused.
  if (c->log != nullptr && c->log->writer == c) ReleaseWriter(c->log);
  if (c->established) rdma_disconnect(c->id);
}

void RdmaServer::Teardown(Conn* c) {
  if (c->log != nullptr && c->log->writer == c) ReleaseWriter(c->log);
  if (c->qp) rdma_destroy_qp(c->id);
  if (c->mr != nullptr) ibv_dereg_mr(c->mr);
  if (c->mem != nullptr) munmap(c->mem, c->mem_size);
  if (c->pd != nullptr) ibv_dealloc_pd(c->pd);
  rdma_destroy_id(c->id);
  conns_.erase(c->serial);
}

void RdmaServer::ReleaseWriter(Log* log) {
  if (log->mr != nullptr) ibv_dereg_mr(log->mr);
  log->mr = nullptr;
  log->writer = nullptr;
}

void RdmaServer::HandleCompletions() {
  ibv_cq* ev_cq = nullptr;
  void* ev_ctx = nullptr;
  while (ibv_get_cq_event(comp_channel_, &ev_cq, &ev_ctx) == 0) ibv_ack_cq_events(ev_cq, 1);
  ibv_req_notify_cq(cq_, 0);
  ibv_wc wc[16];
  int n;
  while ((n = ibv_poll_cq(cq_, 16, wc)) > 0) {
    for (int i = 0; i < n; ++i) {
      auto it = conns_.find(wc[i].wr_id >> 8);
      if (it == conns_.end()) continue;  // a flushed request of a connection torn down
      Conn* c = it->second.get();
      uint64_t kind = (wc[i].wr_id >> 4) & 0xf;
      int index = int(wc[i].wr_id & 0xf);
      if (wc[i].status != IBV_WC_SUCCESS) {
        CloseConn(c);
        continue;
      }
      if (kind == kKindSend) {
        c->send_busy[index] = false;
        if (c->close_after_reply) CloseConn(c);
      } else if (!c->closing && !c->close_after_reply) {
        HandleMessage(c, c->recv_buf(index), wc[i].byte_len);
        if (!c->closing && !PostRecv(c, index)) CloseConn(c);
      }
    }
  }
}

void RdmaServer::Reply(Conn* c, uint8_t type, uint64_t request_id, int32_t status,
                       const std::vector<uint8_t>& payload) {
  int slot = -1;
  for (int i = 0; i < kSendBufs; ++i) {
    if (!c->send_busy[i]) {
      slot = i;
      break;
    }
  }
  std::vector<uint8_t> msg;
  wire::BuildMessage(type | wire::kReplyBit, status, request_id, payload, &msg);
  if (slot < 0 || msg.size() > kMaxControlMessage) {
    CloseConn(c);  // a client that does not wait for its replies
    return;
  }
  std::memcpy(c->send_buf(slot), msg.data(), msg.size());
  ibv_sge sge{reinterpret_cast<uintptr_t>(c->send_buf(slot)), uint32_t(msg.size()), c->mr->lkey};
  ibv_send_wr wr{};
  wr.wr_id = WrId(c->serial, kKindSend, slot);
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_SEND;
  wr.send_flags = IBV_SEND_SIGNALED;
  ibv_send_wr* bad = nullptr;
  if (ibv_post_send(c->id->qp, &wr, &bad) != 0) {
    CloseConn(c);
    return;
  }
  c->send_busy[slot] = true;
}

void RdmaServer::Refresh(Log* log) {
  // The writer advances the word with an 8-byte atomic (or an 8-byte WRITE);
  // two equal reads in a row rule out a torn value in the WRITE case.
  uint64_t* word = reinterpret_cast<uint64_t*>(log->region);
  for (int attempt = 0; attempt < 4; ++attempt) {
    uint64_t a = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    uint64_t b = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (a != b) continue;
    if (a < log->checked_tail || a - log->start > log->ring_size) break;
    log->checked_tail = a;
    return;
  }
  control_anomalies_++;
}

LogInfo RdmaServer::InfoOf(const Log* log) const {
  LogInfo info;
  info.epoch = log->epoch;
  info.start = log->start;
  info.tail = log->checked_tail;
  info.durable = log->durable;
  return info;
}

int32_t RdmaServer::OpenLog(Conn* c, const wire::Header& h, const std::vector<uint8_t>& req,
                            std::vector<uint8_t>* reply) {
  wire::OpenRequest m;
  if (!wire::DecodeOpenRequest(req.data(), req.size(), &m).ok()) return wire::kErrProto;
  if (!wire::ValidName(m.name)) return wire::kErrInvalid;
  if (m.owner.present &&
      !auth::CheckOwnerProof(&c->last_proof_id, h, m.owner,
                             auth::OpenProofMessage(c->nonce, h.request_id, m)))
    return wire::kErrNotOwner;
  auto it = logs_.find(m.name);
  Log* log = it != logs_.end() ? it->second.get() : nullptr;
  if (log != nullptr && log->owned &&
      (!m.owner.present || std::memcmp(log->owner, m.owner.key, wire::kOwnerKeySize) != 0))
    return wire::kErrNotOwner;
  if (log == nullptr) {
    if (!m.create) return wire::kErrNotFound;
    const uint64_t ring = PageRound(options_.ring_size);
    if (ring_bytes_ + ring > options_.capacity) return wire::kErrNoSpace;
    auto owned = std::make_unique<Log>();
    owned->name = m.name;
    owned->owned = m.owner.present;
    if (m.owner.present) std::memcpy(owned->owner, m.owner.key, wire::kOwnerKeySize);
    owned->ring_size = ring;
    owned->region_size = size_t(kRingOffset + ring);
    void* r = mmap(nullptr, owned->region_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (r == MAP_FAILED) return wire::kErrNoSpace;
    owned->region = static_cast<uint8_t*>(r);
    if (options_.mlock && mlock(r, owned->region_size) != 0) {
      munmap(r, owned->region_size);
      return wire::kErrNoSpace;
    }
    owned->start = owned->durable = owned->checked_tail = m.create_offset;
    __atomic_store_n(reinterpret_cast<uint64_t*>(owned->region), m.create_offset, __ATOMIC_RELEASE);
    log = owned.get();
    ring_bytes_ += ring;
    logs_[m.name] = std::move(owned);
  }
  if (m.epoch < log->epoch) return wire::kErrFenced;
  if (c->log != nullptr && c->log != log && c->log->writer == c) ReleaseWriter(c->log);
  c->log = nullptr;
  if (log->writer != nullptr) {
    // Fence the current writer: its registration dies before anyone learns
    // the tail, so none of its RDMA WRITEs can land after this point.
    if (log->writer != c) fences_++;
    ReleaseWriter(log);
  }
  Refresh(log);
  int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
  if (atomics_) access |= IBV_ACCESS_REMOTE_ATOMIC;
  log->mr = ibv_reg_mr(c->pd, log->region, log->region_size, access);
  if (log->mr == nullptr) return wire::kErrNoSpace;
  log->writer = c;
  log->epoch = m.epoch;
  c->log = log;
  RegionInfo region;
  region.addr = reinterpret_cast<uintptr_t>(log->region);
  region.ring_size = log->ring_size;
  region.rkey = log->mr->rkey;
  region.flags = atomics_ ? kRegionAtomics : 0;
  EncodeOpenReply(InfoOf(log), region, reply);
  return wire::kOk;
}

void RdmaServer::HandleMessage(Conn* c, const uint8_t* p, size_t n) {
  wire::Header h;
  if (!internal::CheckMessage(p, n, &h).ok() || (h.type & wire::kReplyBit) != 0 || h.status != 0) {
    CloseConn(c);
    return;
  }
  std::vector<uint8_t> req(p + wire::kHeaderSize, p + n);
  std::vector<uint8_t> out;
  int32_t status = wire::kOk;
  const bool need_auth = !secret_.empty();
  wire::Type type = wire::Type(h.type);
  if (type == wire::Type::kHello) {
    wire::HelloRequest m;
    if (!wire::DecodeHelloRequest(req.data(), req.size(), &m).ok()) {
      status = wire::kErrProto;
    } else if (m.min_version > wire::kVersion || m.max_version < wire::kVersion) {
      status = wire::kErrVersion;
    } else if (!auth::RandomNonce(c->nonce).ok()) {
      status = wire::kErrAccess;
    } else {
      wire::HelloReply r;
      r.auth_required = need_auth;
      std::memcpy(r.nonce, c->nonce, wire::kNonceSize);
      wire::EncodeHelloReply(r, &out);
      c->hello_done = true;
    }
  } else if (!c->hello_done) {
    status = wire::kErrProto;
  } else if (type == wire::Type::kAuth) {
    wire::AuthRequest m;
    uint8_t expect[wire::kMacSize];
    if (!need_auth || !wire::DecodeAuthRequest(req.data(), req.size(), &m).ok()) {
      status = wire::kErrProto;
    } else {
      auth::ClientMac(secret_, c->nonce, m.client_nonce, expect);
      if (!auth::MacEqual(expect, m.mac)) {
        status = wire::kErrAccess;
      } else {
        c->authenticated = true;
        auth::SessionKey(secret_, c->nonce, m.client_nonce, c->session_key);
        c->mac_required = true;
        c->last_mac_id = h.request_id;
        wire::AuthReply r;
        auth::ServerMac(secret_, m.client_nonce, c->nonce, r.mac);
        wire::EncodeAuthReply(r, &out);
      }
    }
  } else if (need_auth && !c->authenticated) {
    status = wire::kErrAccess;
  } else if (!c->mac_required && (h.flags & wire::kFlagMac) != 0) {
    status = wire::kErrProto;  // no session key to check it with
  } else if (size_t len = req.size();
             c->mac_required && !auth::CheckControlMac(c->session_key, &c->last_mac_id, h,
                                                      req.data(), &len)) {
    status = wire::kErrAccess;  // altered, replayed or missing control MAC
  } else {
    if (c->mac_required) req.resize(req.size() - wire::kMacSize);
    switch (type) {
      case wire::Type::kOpen:
        status = OpenLog(c, h, req, &out);
        break;
      case wire::Type::kTrim: {
        uint64_t durable = 0;
        if (!wire::DecodeU64(req.data(), req.size(), &durable).ok()) {
          status = wire::kErrProto;
        } else if (c->log == nullptr) {
          status = wire::kErrNoLog;
        } else if (c->log->writer != c) {
          status = wire::kErrFenced;
        } else {
          Log* log = c->log;
          Refresh(log);
          if (durable > log->checked_tail) {
            status = wire::kErrInvalid;
          } else {
            log->durable = std::max(log->durable, durable);
            log->start = std::max(log->start, log->durable);
            wire::EncodeLogInfo(InfoOf(log), &out);
          }
        }
        break;
      }
      case wire::Type::kStat:
        if (!req.empty()) {
          status = wire::kErrProto;
        } else if (c->log == nullptr) {
          status = wire::kErrNoLog;
        } else {
          Refresh(c->log);
          wire::EncodeLogInfo(InfoOf(c->log), &out);
        }
        break;
      case wire::Type::kList: {
        wire::OwnerProof proof;
        if (!wire::DecodeListRequest(req.data(), req.size(), &proof).ok()) {
          status = wire::kErrProto;
          break;
        }
        if (proof.present &&
            !auth::CheckOwnerProof(&c->last_proof_id, h, proof,
                                   auth::ListProofMessage(c->nonce, h.request_id, proof.key))) {
          status = wire::kErrNotOwner;
          break;
        }
        // Only the logs without an owner and the prover's own.
        std::vector<LogEntry> entries;
        for (auto& [name, log] : logs_) {
          if (log->owned && (!proof.present ||
                             std::memcmp(log->owner, proof.key, wire::kOwnerKeySize) != 0))
            continue;
          Refresh(log.get());
          entries.push_back(LogEntry{name, InfoOf(log.get())});
        }
        wire::EncodeList(entries, &out);
        while (out.size() + wire::kHeaderSize > kMaxControlMessage && !entries.empty()) {
          entries.pop_back();  // the reply must fit one receive buffer
          out.clear();
          wire::EncodeList(entries, &out);
        }
        break;
      }
      case wire::Type::kClose:
        if (c->log != nullptr && c->log->writer == c) ReleaseWriter(c->log);
        c->log = nullptr;
        break;
      default:
        // APPEND and READ are one-sided RDMA operations on this transport.
        status = wire::kErrInvalid;
        break;
    }
  }
  if (status == wire::kErrAccess || status == wire::kErrNotOwner) auth_failures_++;
  if (status == wire::kErrProto || status == wire::kErrAccess || status == wire::kErrVersion) {
    // Fatal: revoke now, disconnect once the refusal has been delivered.
    if (c->log != nullptr && c->log->writer == c) ReleaseWriter(c->log);
    c->close_after_reply = true;
    c->close_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  }
  Reply(c, h.type, h.request_id, status, status == wire::kOk ? out : std::vector<uint8_t>());
}

std::vector<RdmaServer::HeldLog> RdmaServer::Snapshot() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<HeldLog> out;
  for (auto& [name, log] : logs_) {
    Refresh(log.get());
    out.push_back(HeldLog{name, InfoOf(log.get()), log->writer != nullptr});
  }
  return out;
}

size_t RdmaServer::connections_open() {
  std::lock_guard<std::mutex> l(mu_);
  return conns_.size();
}

Status RdmaServer::SetSecret(std::string secret) {
  if (secret.empty() && !options_.allow_unauthenticated)
    return Status::InvalidArgument("rdma server: a shared secret is required");
  if (Status len = auth::CheckSecretLength(secret, "rdma server"); !len.ok()) return len;
  std::lock_guard<std::mutex> l(mu_);
  secret_ = std::move(secret);
  return Status::Ok();
}

Status RdmaServer::StatLog(const std::string& name, LogInfo* info) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = logs_.find(name);
  if (it == logs_.end()) return Status::NotFound("rdma server: no log " + name);
  Refresh(it->second.get());
  *info = InfoOf(it->second.get());
  return Status::Ok();
}

std::string RdmaServer::StatusLine() {
  std::lock_guard<std::mutex> l(mu_);
  return "rdma: connections " + std::to_string(conns_.size()) + " (accepted " +
         std::to_string(accepted_.load()) + "), logs " + std::to_string(logs_.size()) +
         ", ring bytes " + std::to_string(ring_bytes_) + "/" + std::to_string(options_.capacity) +
         ", fences " + std::to_string(fences_.load()) + ", control anomalies " +
         std::to_string(control_anomalies_.load()) + ", auth failures " +
         std::to_string(auth_failures_.load());
}

}  // namespace rvmr::remote_log::rdma
