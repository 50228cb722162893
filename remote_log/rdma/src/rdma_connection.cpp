#include "remote_log/rdma/rdma_connection.h"

#include <poll.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "cm_util.h"
#include "remote_log/auth.h"

namespace rvmr::remote_log::rdma {

namespace {

using Clock = std::chrono::steady_clock;

// wr_id values: what a completion belongs to.
enum WrKind : uint64_t {
  kWrAppendData = 1,  // unsignaled WRITE of log bytes (completes only on error)
  kWrControl = 2,     // unsignaled WRITE of the control word (no-atomics mode)
  kWrAck = 3,         // signaled CAS (or READ) of the control word: acknowledges one chunk
  kWrSend = 4,        // control request
  kWrRecv = 5,        // control reply
  kWrReadData = 6,    // RDMA READ for Read()
};

constexpr size_t kSlotSize = 32;

Status WcError(const ibv_wc& wc) {
  std::string what = std::string("rdma: work request failed: ") + ibv_wc_status_str(wc.status);
  if (wc.status == IBV_WC_REM_ACCESS_ERR) {
    return Status::Fenced(what +
                          " (the server revoked this writer's access to the log: a newer "
                          "writer epoch opened it, or it was closed)");
  }
  return Status::Unavailable(what);
}

}  // namespace

RdmaConnection::RdmaConnection(const Endpoint& ep, const ConnectOptions& opts)
    : uri_(ep.uri.empty() ? "rdma://" + ep.host + ":" + std::to_string(ep.port) : ep.uri),
      opts_(opts) {}

Status RdmaConnection::Connect(const Endpoint& ep, const ConnectOptions& opts,
                               std::unique_ptr<Connection>* out) {
  std::unique_ptr<RdmaConnection> c(new RdmaConnection(ep, opts));
  Status s = c->Setup(ep);
  if (s.ok()) s = c->Handshake();
  if (!s.ok()) return s;
  *out = std::move(c);
  return Status::Ok();
}

Status RdmaConnection::Setup(const Endpoint& ep) {
  const int timeout = std::max(opts_.connect_timeout_ms, 1);
  sockaddr_storage addr;
  Status s = internal::ResolveAddress(ep.host, ep.port, &addr);
  if (!s.ok()) return s;

  cm_channel_ = rdma_create_event_channel();
  if (cm_channel_ == nullptr) {
    return Status::Unavailable(
        "rdma: rdma_create_event_channel failed (no RDMA device or "
        "rdma_ucm module?): " +
        std::string(strerror(errno)));
  }
  s = internal::MakeNonBlocking(cm_channel_->fd);
  if (!s.ok()) return s;
  if (rdma_create_id(cm_channel_, &id_, nullptr, RDMA_PS_TCP) != 0) {
    return Status::IoError("rdma: rdma_create_id", errno);
  }
  if (rdma_resolve_addr(id_, nullptr, reinterpret_cast<sockaddr*>(&addr), timeout) != 0) {
    return Status::Unavailable("rdma: rdma_resolve_addr(" + ep.host +
                               "): " + std::string(strerror(errno)));
  }
  s = internal::WaitCmEvent(cm_channel_, timeout, RDMA_CM_EVENT_ADDR_RESOLVED);
  if (!s.ok()) return s;
  if (rdma_resolve_route(id_, timeout) != 0)
    return Status::IoError("rdma: rdma_resolve_route", errno);
  s = internal::WaitCmEvent(cm_channel_, timeout, RDMA_CM_EVENT_ROUTE_RESOLVED);
  if (!s.ok()) return s;

  ibv_device_attr dev{};
  if (ibv_query_device(id_->verbs, &dev) != 0)
    return Status::IoError("rdma: ibv_query_device", errno);
  const char* no_atomics = std::getenv("RVM_RDMA_NO_ATOMICS");
  device_atomics_ = dev.atomic_cap != IBV_ATOMIC_NONE &&
                    !(no_atomics != nullptr && std::strcmp(no_atomics, "1") == 0);
  pd_ = ibv_alloc_pd(id_->verbs);
  if (pd_ == nullptr) return Status::IoError("rdma: ibv_alloc_pd", errno);
  comp_channel_ = ibv_create_comp_channel(id_->verbs);
  if (comp_channel_ == nullptr) return Status::IoError("rdma: ibv_create_comp_channel", errno);
  s = internal::MakeNonBlocking(comp_channel_->fd);
  if (!s.ok()) return s;
  const int sq_depth = int(kMaxInflight * 4 + 8);
  cq_ = ibv_create_cq(id_->verbs, sq_depth + 8, nullptr, comp_channel_, 0);
  if (cq_ == nullptr) return Status::IoError("rdma: ibv_create_cq", errno);

  ibv_qp_init_attr qa{};
  qa.send_cq = cq_;
  qa.recv_cq = cq_;
  qa.qp_type = IBV_QPT_RC;
  qa.sq_sig_all = 0;
  qa.cap.max_send_wr = uint32_t(sq_depth);
  qa.cap.max_recv_wr = 2;
  qa.cap.max_send_sge = 1;
  qa.cap.max_recv_sge = 1;
  qa.cap.max_inline_data = kControlSize;
  if (rdma_create_qp(id_, pd_, &qa) != 0) return Status::IoError("rdma: rdma_create_qp", errno);
  qp_created_ = true;

  mem_size_ = kStagingSize + kMaxInflight * kSlotSize + 2 * kMaxControlMessage;
  void* m = mmap(nullptr, mem_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    mem_ = nullptr;
    return Status::IoError("rdma: mmap of staging memory", errno);
  }
  mem_ = static_cast<uint8_t*>(m);
  staging_ = mem_;
  slots_ = staging_ + kStagingSize;
  send_buf_ = slots_ + kMaxInflight * kSlotSize;
  recv_buf_ = send_buf_ + kMaxControlMessage;
  mr_ = ibv_reg_mr(pd_, mem_, mem_size_, IBV_ACCESS_LOCAL_WRITE);
  if (mr_ == nullptr) return Status::IoError("rdma: ibv_reg_mr", errno);

  ibv_sge sge{reinterpret_cast<uintptr_t>(recv_buf_), uint32_t(kMaxControlMessage), mr_->lkey};
  ibv_recv_wr rwr{};
  rwr.wr_id = kWrRecv;
  rwr.sg_list = &sge;
  rwr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  if (ibv_post_recv(id_->qp, &rwr, &bad) != 0) return Status::IoError("rdma: ibv_post_recv", errno);

  rdma_conn_param cp{};
  cp.initiator_depth = uint8_t(std::min(dev.max_qp_init_rd_atom, 16));
  cp.responder_resources = uint8_t(std::min(dev.max_qp_rd_atom, 16));
  cp.retry_count = 7;
  cp.rnr_retry_count = 7;
  if (rdma_connect(id_, &cp) != 0) return Status::IoError("rdma: rdma_connect", errno);
  return internal::WaitCmEvent(cm_channel_, timeout, RDMA_CM_EVENT_ESTABLISHED);
}

RdmaConnection::~RdmaConnection() {
  if (id_ != nullptr && qp_created_) rdma_disconnect(id_);
  if (qp_created_) rdma_destroy_qp(id_);
  if (mr_ != nullptr) ibv_dereg_mr(mr_);
  if (mem_ != nullptr) munmap(mem_, mem_size_);
  if (cq_ != nullptr) ibv_destroy_cq(cq_);
  if (comp_channel_ != nullptr) ibv_destroy_comp_channel(comp_channel_);
  if (pd_ != nullptr) ibv_dealloc_pd(pd_);
  if (id_ != nullptr) rdma_destroy_id(id_);
  if (cm_channel_ != nullptr) rdma_destroy_event_channel(cm_channel_);
}

Status RdmaConnection::Broken(Status s) {
  if (broken_.ok()) broken_ = std::move(s);
  return broken_;
}

Status RdmaConnection::Handshake() {
  std::vector<uint8_t> payload, reply;
  int32_t rs = 0;
  wire::HelloRequest hello;
  wire::EncodeHelloRequest(hello, &payload);
  Status s = Call(wire::Type::kHello, payload, &rs, &reply);
  if (!s.ok()) return s;
  if (rs != 0) return Broken(wire::ErrorToStatus(rs, "rdma: HELLO refused"));
  wire::HelloReply hr;
  s = wire::DecodeHelloReply(reply.data(), reply.size(), &hr);
  if (!s.ok()) return Broken(s);
  std::memcpy(server_nonce_, hr.nonce, wire::kNonceSize);
  if (!opts_.owner_seed.empty()) {
    s = auth::OwnerKey::FromSeed(opts_.owner_seed, &owner_);
    if (!s.ok()) return Broken(s);
  }
  if (!hr.auth_required) return Status::Ok();
  if (opts_.secret.empty()) {
    return Broken(Status::IoError(
        "rdma: the server requires authentication and no secret was given", EACCES));
  }
  s = auth::CheckSecretLength(opts_.secret, "rdma");
  if (!s.ok()) return Broken(s);
  wire::AuthRequest ar;
  s = auth::RandomNonce(ar.client_nonce);
  if (!s.ok()) return Broken(s);
  auth::ClientMac(opts_.secret, hr.nonce, ar.client_nonce, ar.mac);
  payload.clear();
  wire::EncodeAuthRequest(ar, &payload);
  s = Call(wire::Type::kAuth, payload, &rs, &reply);
  if (!s.ok()) return s;
  if (rs != 0) return Broken(wire::ErrorToStatus(rs, "rdma: authentication refused"));
  wire::AuthReply arep;
  s = wire::DecodeAuthReply(reply.data(), reply.size(), &arep);
  if (!s.ok()) return Broken(s);
  uint8_t expect[wire::kMacSize];
  auth::ServerMac(opts_.secret, ar.client_nonce, hr.nonce, expect);
  if (!auth::MacEqual(expect, arep.mac)) {
    return Broken(Status::IoError("rdma: the server failed to prove it knows the secret", EACCES));
  }
  auth::SessionKey(opts_.secret, hr.nonce, ar.client_nonce, session_key_);
  mac_ = true;
  return Status::Ok();
}

void RdmaConnection::DrainCq() {
  ibv_wc wc[16];
  for (;;) {
    int n = ibv_poll_cq(cq_, 16, wc);
    if (n < 0) {
      // Kept in broken_, which the connection's next call returns.
      Broken(Status::IoError("rdma: ibv_poll_cq", EIO)).IgnoreError();
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (wc[i].status != IBV_WC_SUCCESS) {
        // The first error says why; the flushes that follow add nothing.
        Broken(WcError(wc[i])).IgnoreError();  // kept in broken_ (as above)
        continue;
      }
      switch (wc[i].wr_id) {
        case kWrAck: {
          const Pending& p = pending_[pending_head_];
          uint64_t seen;
          std::memcpy(&seen, p.result, sizeof(seen));
          if (seen != p.expect) {
            Broken(Status::Corruption("rdma: the log's control word holds " + std::to_string(seen) +
                                      ", expected " + std::to_string(p.expect) +
                                      " (another writer?)"))
                .IgnoreError();  // kept in broken_ (as above)
            continue;
          }
          acked_end_ = p.end;
          staging_tail_ = p.staging_end;
          pending_head_ = (pending_head_ + 1) % kMaxInflight;
          --pending_count_;
          break;
        }
        case kWrSend:
          send_busy_ = false;
          break;
        case kWrRecv:
          reply_ready_ = true;
          reply_len_ = wc[i].byte_len;
          break;
        case kWrReadData:
          read_done_ = true;
          break;
        default:
          break;
      }
    }
    if (n < 16) return;
  }
}

template <class Pred>
Status RdmaConnection::WaitUntil(Pred done) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(opts_.io_timeout_ms);
  for (;;) {
    DrainCq();
    if (!broken_.ok()) return broken_;
    if (done()) return Status::Ok();
    if (opts_.busy_poll) {
      if (Clock::now() >= deadline) break;
      continue;
    }
    // Arm, re-check (a completion may have slipped in), then sleep on the fd.
    if (ibv_req_notify_cq(cq_, 0) != 0)
      return Broken(Status::IoError("rdma: ibv_req_notify_cq", EIO));
    DrainCq();
    if (!broken_.ok()) return broken_;
    if (done()) return Status::Ok();
    int left = internal::MillisLeft(deadline);
    if (left == 0) break;
    pollfd pfd{comp_channel_->fd, POLLIN, 0};
    int rc = poll(&pfd, 1, left);
    if (rc < 0 && errno != EINTR) return Broken(Status::IoError("rdma: poll", errno));
    ibv_cq* ev_cq = nullptr;
    void* ev_ctx = nullptr;
    while (ibv_get_cq_event(comp_channel_, &ev_cq, &ev_ctx) == 0) ibv_ack_cq_events(ev_cq, 1);
  }
  return Broken(Status::TimedOut("rdma: no completion from " + uri_ + " within " +
                                 std::to_string(opts_.io_timeout_ms) + " ms"));
}

int RdmaConnection::wait_fd() const {
  return comp_channel_ != nullptr ? comp_channel_->fd : -1;
}

Status RdmaConnection::Call(wire::Type type, const std::vector<uint8_t>& payload,
                            int32_t* reply_status, std::vector<uint8_t>* reply) {
  if (!broken_.ok()) return broken_;
  // Control requests are ordered after every append started before them.
  Status s = WaitUntil([&] { return pending_count_ == 0 && !send_busy_; });
  if (!s.ok()) return s;
  std::vector<uint8_t> msg;
  // After AUTH every request carries its control MAC.
  auth::BuildRequest(uint8_t(type), ++request_id_, payload, mac_ ? session_key_ : nullptr, &msg);
  if (msg.size() > kMaxControlMessage) return Status::InvalidArgument("rdma: request too large");
  std::memcpy(send_buf_, msg.data(), msg.size());
  ibv_sge sge{reinterpret_cast<uintptr_t>(send_buf_), uint32_t(msg.size()), mr_->lkey};
  ibv_send_wr wr{};
  wr.wr_id = kWrSend;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_SEND;
  wr.send_flags = IBV_SEND_SIGNALED;
  ibv_send_wr* bad = nullptr;
  reply_ready_ = false;
  if (ibv_post_send(id_->qp, &wr, &bad) != 0)
    return Broken(Status::IoError("rdma: post SEND", errno));
  send_busy_ = true;
  s = WaitUntil([&] { return reply_ready_; });
  if (!s.ok()) return s;
  wire::Header h;
  s = internal::CheckMessage(recv_buf_, reply_len_, &h);
  if (s.ok() && (h.type != (uint8_t(type) | wire::kReplyBit) || h.request_id != request_id_)) {
    s = Status::Corruption("rdma: reply does not match the request");
  }
  if (!s.ok()) return Broken(s);
  reply->assign(recv_buf_ + wire::kHeaderSize, recv_buf_ + reply_len_);
  *reply_status = h.status;
  // Re-arm the one receive buffer for the next reply.
  ibv_sge rsge{reinterpret_cast<uintptr_t>(recv_buf_), uint32_t(kMaxControlMessage), mr_->lkey};
  ibv_recv_wr rwr{};
  rwr.wr_id = kWrRecv;
  rwr.sg_list = &rsge;
  rwr.num_sge = 1;
  ibv_recv_wr* rbad = nullptr;
  if (ibv_post_recv(id_->qp, &rwr, &rbad) != 0)
    return Broken(Status::IoError("rdma: post RECV", errno));
  return Status::Ok();
}

Status RdmaConnection::Open(std::string_view name, uint64_t epoch, bool create,
                            uint64_t create_offset, LogInfo* info) {
  wire::OpenRequest req;
  req.epoch = epoch;
  req.create = create;
  req.create_offset = create_offset;
  req.name = std::string(name);
  if (!wire::ValidName(req.name)) return Status::InvalidArgument("rdma: bad log name");
  if (owner_) {
    // Signed for the id Call gives this request.
    req.owner.present = true;
    std::memcpy(req.owner.key, owner_->public_key(), wire::kOwnerKeySize);
    Status ps =
        owner_->Sign(auth::OpenProofMessage(server_nonce_, request_id_ + 1, req), req.owner.sig);
    if (!ps.ok()) return ps;
  }
  std::vector<uint8_t> payload, reply;
  wire::EncodeOpenRequest(req, &payload);
  int32_t rs = 0;
  open_ = false;
  Status s = Call(wire::Type::kOpen, payload, &rs, &reply);
  if (!s.ok()) return s;
  if (rs != 0) return wire::ErrorToStatus(rs, "rdma: OPEN " + req.name);
  LogInfo li;
  RegionInfo region;
  s = DecodeOpenReply(reply.data(), reply.size(), &li, &region);
  if (!s.ok()) return Broken(s);
  region_ = region;
  start_ = li.start;
  next_offset_ = acked_end_ = li.tail;
  use_atomics_ = device_atomics_ && (region.flags & kRegionAtomics) != 0;
  refused_ = Status::Ok();
  open_ = true;
  *info = li;
  return Status::Ok();
}

Status RdmaConnection::Refuse(int32_t code, std::string_view what) {
  if (refused_.ok()) refused_ = wire::ErrorToStatus(code, what);
  return Status::Ok();
}

Status RdmaConnection::StartAppend(uint64_t offset, const struct iovec* iov, int iovcnt) {
  if (!broken_.ok()) return broken_;
  if (!open_) return Status::InvalidArgument("rdma: StartAppend without an open log");
  if (!refused_.ok()) return Status::Ok();  // everything after a refusal is refused too
  size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  if (offset < next_offset_) return Refuse(wire::kErrDuplicate, "rdma: APPEND");
  if (offset > next_offset_) return Refuse(wire::kErrGap, "rdma: APPEND");
  if (offset + total - start_ > region_.ring_size) return Refuse(wire::kErrNoSpace, "rdma: APPEND");

  int vi = 0;
  size_t voff = 0;
  size_t left = total;
  do {
    const size_t n = std::min(left, kMaxChunk);
    // Reserve n contiguous staging bytes (skipping the end of the ring if
    // needed) and a slot in the in-flight window.
    uint64_t pos = staging_head_ % kStagingSize;
    uint64_t skip = pos + n > kStagingSize ? kStagingSize - pos : 0;
    uint64_t need_end = staging_head_ + skip + n;
    Status s = WaitUntil(
        [&] { return need_end - staging_tail_ <= kStagingSize && pending_count_ < kMaxInflight; });
    if (!s.ok()) return s;
    staging_head_ += skip;
    uint8_t* dst = staging_ + staging_head_ % kStagingSize;
    size_t copied = 0;
    while (copied < n) {
      size_t m = std::min(n - copied, iov[vi].iov_len - voff);
      std::memcpy(dst + copied, static_cast<const uint8_t*>(iov[vi].iov_base) + voff, m);
      copied += m;
      voff += m;
      if (voff == iov[vi].iov_len) {
        ++vi;
        voff = 0;
      }
    }
    staging_head_ += n;
    s = PostChunk(next_offset_, dst, n, staging_head_);
    if (!s.ok()) return s;
    left -= n;
  } while (left > 0);
  return Status::Ok();
}

Status RdmaConnection::PostChunk(uint64_t offset, const uint8_t* staged, size_t n,
                                 uint64_t staging_end) {
  const uint64_t ring_base = region_.addr + kRingOffset;
  const uint64_t pos = offset % region_.ring_size;
  const size_t first = size_t(std::min<uint64_t>(n, region_.ring_size - pos));
  const uint64_t new_tail = offset + n;

  // Slot: [0, 8) the new tail (no-atomics mode), [8, 16) the returned word.
  uint8_t* slot = slots_ + (slot_seq_++ % kMaxInflight) * kSlotSize;
  std::memcpy(slot, &new_tail, sizeof(new_tail));

  ibv_sge sge[4];
  ibv_send_wr wr[4];
  std::memset(wr, 0, sizeof(wr));
  int k = 0;
  auto add = [&](uint64_t wr_id, ibv_wr_opcode op, const void* local, size_t len, uint64_t remote,
                 unsigned flags) {
    sge[k] = ibv_sge{reinterpret_cast<uintptr_t>(local), uint32_t(len), mr_->lkey};
    wr[k].wr_id = wr_id;
    wr[k].opcode = op;
    wr[k].sg_list = &sge[k];
    wr[k].num_sge = 1;
    wr[k].send_flags = flags;
    wr[k].wr.rdma.remote_addr = remote;
    wr[k].wr.rdma.rkey = region_.rkey;
    if (k > 0) wr[k - 1].next = &wr[k];
    ++k;
  };
  if (first > 0) add(kWrAppendData, IBV_WR_RDMA_WRITE, staged, first, ring_base + pos, 0);
  if (n > first) add(kWrAppendData, IBV_WR_RDMA_WRITE, staged + first, n - first, ring_base, 0);
  uint64_t expect;
  if (use_atomics_) {
    // Compare-and-swap old tail -> new tail; returns the old value.
    add(kWrAck, IBV_WR_ATOMIC_CMP_AND_SWP, slot + 8, kControlSize, 0, IBV_SEND_SIGNALED);
    wr[k - 1].wr.atomic.remote_addr = region_.addr;
    wr[k - 1].wr.atomic.compare_add = offset;
    wr[k - 1].wr.atomic.swap = new_tail;
    wr[k - 1].wr.atomic.rkey = region_.rkey;
    expect = offset;
  } else {
    add(kWrControl, IBV_WR_RDMA_WRITE, slot, kControlSize, region_.addr, IBV_SEND_INLINE);
    add(kWrAck, IBV_WR_RDMA_READ, slot + 8, kControlSize, region_.addr, IBV_SEND_SIGNALED);
    expect = new_tail;
  }

  pending_[(pending_head_ + pending_count_) % kMaxInflight] =
      Pending{new_tail, expect, staging_end, slot + 8};
  ++pending_count_;
  ibv_send_wr* bad = nullptr;
  if (ibv_post_send(id_->qp, &wr[0], &bad) != 0) {
    return Broken(Status::IoError("rdma: post RDMA WRITE/READ", errno));
  }
  next_offset_ = offset + n;
  return Status::Ok();
}

Status RdmaConnection::Poll(uint64_t* acked_end) {
  if (broken_.ok()) DrainCq();
  *acked_end = acked_end_;
  if (!broken_.ok()) return broken_;
  if (!refused_.ok() && pending_count_ == 0) return refused_;
  return Status::Ok();
}

Status RdmaConnection::WaitAcked(uint64_t end, uint64_t* acked_end) {
  Status s = WaitUntil([&] { return acked_end_ >= end || pending_count_ == 0; });
  *acked_end = acked_end_;
  if (!s.ok()) return s;
  if (!refused_.ok()) return refused_;
  if (acked_end_ < end) {
    return Status::InvalidArgument("rdma: WaitAcked past the end of the appends started");
  }
  return Status::Ok();
}

Status RdmaConnection::Read(uint64_t offset, size_t len, void* buf, size_t* got) {
  *got = 0;
  if (!broken_.ok()) return broken_;
  if (!open_) return Status::InvalidArgument("rdma: Read without an open log");
  Status s = WaitUntil([&] { return pending_count_ == 0; });
  if (!s.ok()) return s;
  if (offset < start_) return wire::ErrorToStatus(wire::kErrTrimmed, "rdma: READ");
  if (offset > acked_end_)
    return wire::ErrorToStatus(wire::kErrInvalid, "rdma: READ past the tail");
  size_t want = size_t(std::min<uint64_t>(len, acked_end_ - offset));
  uint8_t* out = static_cast<uint8_t*>(buf);
  const uint64_t ring_base = region_.addr + kRingOffset;
  while (*got < want) {
    uint64_t off = offset + *got;
    uint64_t pos = off % region_.ring_size;
    size_t n = size_t(std::min<uint64_t>({want - *got, kStagingSize, region_.ring_size - pos}));
    ibv_sge sge{reinterpret_cast<uintptr_t>(staging_), uint32_t(n), mr_->lkey};
    ibv_send_wr wr{};
    wr.wr_id = kWrReadData;
    wr.opcode = IBV_WR_RDMA_READ;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = ring_base + pos;
    wr.wr.rdma.rkey = region_.rkey;
    ibv_send_wr* bad = nullptr;
    read_done_ = false;
    if (ibv_post_send(id_->qp, &wr, &bad) != 0)
      return Broken(Status::IoError("rdma: post READ", errno));
    s = WaitUntil([&] { return read_done_; });
    if (!s.ok()) return s;
    std::memcpy(out + *got, staging_, n);
    *got += n;
  }
  // Staging is free again (no appends in flight): restart it from zero.
  staging_head_ = staging_tail_ = 0;
  return Status::Ok();
}

Status RdmaConnection::Trim(uint64_t durable, LogInfo* info) {
  std::vector<uint8_t> payload, reply;
  wire::EncodeU64(durable, &payload);
  int32_t rs = 0;
  Status s = Call(wire::Type::kTrim, payload, &rs, &reply);
  if (!s.ok()) return s;
  if (rs != 0) return wire::ErrorToStatus(rs, "rdma: TRIM");
  s = wire::DecodeLogInfo(reply.data(), reply.size(), info);
  if (!s.ok()) return Broken(s);
  start_ = std::max(start_, info->start);
  return Status::Ok();
}

Status RdmaConnection::Stat(LogInfo* info) {
  std::vector<uint8_t> reply;
  int32_t rs = 0;
  Status s = Call(wire::Type::kStat, {}, &rs, &reply);
  if (!s.ok()) return s;
  if (rs != 0) return wire::ErrorToStatus(rs, "rdma: STAT");
  s = wire::DecodeLogInfo(reply.data(), reply.size(), info);
  return s.ok() ? s : Broken(s);
}

Status RdmaConnection::List(std::vector<LogEntry>* logs) {
  std::vector<uint8_t> payload, reply;
  if (owner_) {
    wire::OwnerProof proof;
    proof.present = true;
    std::memcpy(proof.key, owner_->public_key(), wire::kOwnerKeySize);
    Status ps = owner_->Sign(auth::ListProofMessage(server_nonce_, request_id_ + 1, proof.key),
                             proof.sig);
    if (!ps.ok()) return ps;
    wire::EncodeListRequest(proof, &payload);
  }
  int32_t rs = 0;
  Status s = Call(wire::Type::kList, payload, &rs, &reply);
  if (!s.ok()) return s;
  if (rs != 0) return wire::ErrorToStatus(rs, "rdma: LIST");
  s = wire::DecodeList(reply.data(), reply.size(), logs);
  return s.ok() ? s : Broken(s);
}

Status RdmaConnection::CloseLog() {
  std::vector<uint8_t> reply;
  int32_t rs = 0;
  Status s = Call(wire::Type::kClose, {}, &rs, &reply);
  if (!s.ok()) return s;
  open_ = false;
  if (rs != 0) return wire::ErrorToStatus(rs, "rdma: CLOSE");
  return Status::Ok();
}

}  // namespace rvmr::remote_log::rdma
