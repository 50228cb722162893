// A bare verbs client for the RDMA tests: it connects through rdma_cm and
// then sends whatever a test tells it to, as a client that does not follow
// the protocol (or an attacker replaying captured bytes) would.
#pragma once

#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <rdma/rdma_cma.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace rvmr::rdma_test {

class RawClient {
 public:
  RawClient() = default;
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() {
    if (id_ != nullptr && id_->qp != nullptr) rdma_destroy_qp(id_);
    if (mr_ != nullptr) ibv_dereg_mr(mr_);
    if (cq_ != nullptr) ibv_destroy_cq(cq_);
    if (pd_ != nullptr) ibv_dealloc_pd(pd_);
    if (id_ != nullptr) rdma_destroy_id(id_);
    if (ch_ != nullptr) rdma_destroy_event_channel(ch_);
  }

  // Connects to addr:port (fails the test if it cannot).
  void Connect(const std::string& addr, uint16_t port) {
    ch_ = rdma_create_event_channel();
    REQUIRE(ch_ != nullptr);
    REQUIRE(rdma_create_id(ch_, &id_, nullptr, RDMA_PS_TCP) == 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    REQUIRE(inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) == 1);
    REQUIRE(rdma_resolve_addr(id_, nullptr, reinterpret_cast<sockaddr*>(&sa), 2000) == 0);
    REQUIRE(NextEvent(3000) == RDMA_CM_EVENT_ADDR_RESOLVED);
    REQUIRE(rdma_resolve_route(id_, 2000) == 0);
    REQUIRE(NextEvent(3000) == RDMA_CM_EVENT_ROUTE_RESOLVED);
    pd_ = ibv_alloc_pd(id_->verbs);
    cq_ = ibv_create_cq(id_->verbs, 16, nullptr, nullptr, 0);
    REQUIRE(pd_ != nullptr);
    REQUIRE(cq_ != nullptr);
    ibv_qp_init_attr qa{};
    qa.send_cq = qa.recv_cq = cq_;
    qa.qp_type = IBV_QPT_RC;
    qa.cap.max_send_wr = qa.cap.max_recv_wr = 4;
    qa.cap.max_send_sge = qa.cap.max_recv_sge = 1;
    REQUIRE(rdma_create_qp(id_, pd_, &qa) == 0);
    buf_.assign(2 * kHalf, 0);
    mr_ = ibv_reg_mr(pd_, buf_.data(), buf_.size(), IBV_ACCESS_LOCAL_WRITE);
    REQUIRE(mr_ != nullptr);
    rdma_conn_param cp{};
    cp.initiator_depth = cp.responder_resources = 1;
    cp.retry_count = 7;
    cp.rnr_retry_count = 7;
    REQUIRE(rdma_connect(id_, &cp) == 0);
    REQUIRE(NextEvent(3000) == RDMA_CM_EVENT_ESTABLISHED);
  }

  // Posts a SEND of bytes (copied into registered memory); no reply awaited.
  void Send(const std::vector<uint8_t>& bytes) {
    REQUIRE(bytes.size() <= buf_.size());
    std::memcpy(buf_.data(), bytes.data(), bytes.size());
    Post(IBV_WR_SEND, bytes.size(), 0, 0);
  }

  // Sends one message and waits up to timeout_ms for the server's reply.
  // True with *reply set when one arrived; false when the connection failed
  // or was closed instead (the receive was flushed) or nothing came.
  bool Exchange(const std::vector<uint8_t>& msg, std::vector<uint8_t>* reply,
                int timeout_ms = 3000) {
    REQUIRE(msg.size() <= kHalf);
    ibv_sge rsge{reinterpret_cast<uintptr_t>(buf_.data() + kHalf), uint32_t(kHalf), mr_->lkey};
    ibv_recv_wr rwr{};
    rwr.wr_id = kRecvId;
    rwr.sg_list = &rsge;
    rwr.num_sge = 1;
    ibv_recv_wr* rbad = nullptr;
    if (ibv_post_recv(id_->qp, &rwr, &rbad) != 0) return false;
    std::memcpy(buf_.data(), msg.data(), msg.size());
    Post(IBV_WR_SEND, msg.size(), 0, 0);
    ibv_wc wc{};
    const uint64_t polls = uint64_t(timeout_ms) * 20000;
    for (uint64_t i = 0; i < polls; ++i) {
      if (ibv_poll_cq(cq_, 1, &wc) != 1) continue;
      if (wc.status != IBV_WC_SUCCESS) return false;
      if (wc.wr_id != kRecvId) continue;  // our SEND's completion
      reply->assign(buf_.data() + kHalf, buf_.data() + kHalf + wc.byte_len);
      return true;
    }
    return false;
  }

  // Posts a signaled RDMA WRITE of n bytes to (raddr, rkey); returns its status.
  ibv_wc_status Write(uint64_t raddr, uint32_t rkey, size_t n) {
    Post(IBV_WR_RDMA_WRITE, n, raddr, rkey);
    ibv_wc wc{};
    for (int spins = 0; spins < 20000000; ++spins) {
      int got = ibv_poll_cq(cq_, 1, &wc);
      if (got == 1) return wc.status;
    }
    FAIL("no completion for the RDMA WRITE");
    return IBV_WC_GENERAL_ERR;
  }

  // The next rdma_cm event within timeout_ms, or -1.
  int NextEvent(int timeout_ms) {
    pollfd pfd{ch_->fd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return -1;
    rdma_cm_event* ev = nullptr;
    if (rdma_get_cm_event(ch_, &ev) != 0) return -1;
    int type = ev->event;
    rdma_ack_cm_event(ev);
    return type;
  }

  // Waits (up to 10 s) for the server to disconnect this client.
  bool WaitDisconnected() {
    int ev = -1;
    for (int tries = 0; tries < 10 && ev != RDMA_CM_EVENT_DISCONNECTED; ++tries)
      ev = NextEvent(1000);
    return ev == RDMA_CM_EVENT_DISCONNECTED;
  }

 private:
  static constexpr size_t kHalf = 64 * 1024;  // send area, then receive area
  static constexpr uint64_t kRecvId = 2;

  void Post(ibv_wr_opcode op, size_t n, uint64_t raddr, uint32_t rkey) {
    ibv_sge sge{reinterpret_cast<uintptr_t>(buf_.data()), uint32_t(n), mr_->lkey};
    ibv_send_wr wr{};
    wr.wr_id = 1;
    wr.opcode = op;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = raddr;
    wr.wr.rdma.rkey = rkey;
    ibv_send_wr* bad = nullptr;
    REQUIRE(ibv_post_send(id_->qp, &wr, &bad) == 0);
  }

  rdma_event_channel* ch_ = nullptr;
  rdma_cm_id* id_ = nullptr;
  ibv_pd* pd_ = nullptr;
  ibv_cq* cq_ = nullptr;
  ibv_mr* mr_ = nullptr;
  std::vector<uint8_t> buf_;
};

}  // namespace rvmr::rdma_test
