// rdma_bench: append round-trip latency of the RDMA transport next to two
// bare RDMA round trips of the same size on the same device, and pipelined
// append throughput through MirrorSet with 1 and 2 rdma:// mirrors.
//   bare WRITE:  one signaled RDMA WRITE of N bytes (complete = remote ack)
//   ping-pong:   ib_write_lat style: N bytes written to the peer, whose CPU
//                polls for them and writes N bytes back
// Append and bare WRITE alternate within one phase; the ping-pong (whose
// passive side spins) runs in its own phase after them, per size.
//
// Needs an RDMA device; without one, run it in the Soft-RoCE VM:
//   tests/rdma/run-rdma-tests build/bench/rdma/rdma_bench [--iters N]
// (the address comes from RVM_RDMA_TEST_ADDR, or --addr). Under Soft-RoCE in
// an emulated VM the absolute figures say nothing about hardware; only the
// ratios measured side by side in one run mean something.
#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <sched.h>
#include <sys/uio.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "remote_log/mirror_set.h"
#include "remote_log/rdma/rdma_connection.h"
#include "remote_log/rdma/rdma_server.h"

using rvmr::Status;
using namespace rvmr::remote_log;
using Clock = std::chrono::steady_clock;

namespace {

const char* kSecret = "bench-secret";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "rdma_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

double Pct(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(p / 100.0 * double(v.size())));
  return v[i];
}

// Bare RDMA: one RC connection over rdma_cm. Each side registers a 128 KiB
// buffer for remote write and hands its address and rkey to the other in the
// connect/accept private data. [0, 64K) receives ping-pong messages,
// [64K, 128K) is the client's send area and the target of the bare WRITEs. A
// ping-pong message of N bytes ends with an 8-byte sequence number that the
// receiver polls for; the passive side echoes what it received.
class BareRdma {
 public:
  struct Remote {
    uint64_t addr;
    uint32_t rkey;
    uint32_t pad;
  };
  static constexpr size_t kBuf = 128 * 1024;
  static constexpr size_t kHalf = 64 * 1024;

  // sizes/iters: the ping-pong schedule the passive side answers.
  void Listen(const std::string& addr, std::vector<size_t> sizes, int iters) {
    sizes_ = std::move(sizes);
    iters_ = iters;
    ch_ = rdma_create_event_channel();
    if (ch_ == nullptr || rdma_create_id(ch_, &listen_, nullptr, RDMA_PS_TCP) != 0) Die("bare: cm");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) Die("bare: address " + addr);
    if (rdma_bind_addr(listen_, reinterpret_cast<sockaddr*>(&sa)) != 0 || rdma_listen(listen_, 1))
      Die("bare: listen");
    port_ = ntohs(rdma_get_src_port(listen_));
    server_ = std::thread([this] { Serve(); });
  }

  void Connect(const std::string& addr) {
    cch_ = rdma_create_event_channel();
    if (cch_ == nullptr || rdma_create_id(cch_, &cid_, nullptr, RDMA_PS_TCP) != 0) Die("bare: cm");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port_);
    inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
    if (rdma_resolve_addr(cid_, nullptr, reinterpret_cast<sockaddr*>(&sa), 2000)) Die("bare: addr");
    Expect(cch_, RDMA_CM_EVENT_ADDR_RESOLVED, nullptr);
    if (rdma_resolve_route(cid_, 2000)) Die("bare: route");
    Expect(cch_, RDMA_CM_EVENT_ROUTE_RESOLVED, nullptr);
    MakeQp(cid_, &cpd_, &ccq_, &cmr_, &cbuf_);
    Remote mine{reinterpret_cast<uintptr_t>(cbuf_.data()), cmr_->rkey, 0};
    rdma_conn_param cp{};
    cp.private_data = &mine;
    cp.private_data_len = sizeof(mine);
    cp.initiator_depth = cp.responder_resources = 1;
    cp.retry_count = cp.rnr_retry_count = 7;
    if (rdma_connect(cid_, &cp)) Die("bare: connect");
    Expect(cch_, RDMA_CM_EVENT_ESTABLISHED, &remote_);
  }

  // One signaled RDMA WRITE of n bytes; returns once it completed.
  void WriteRoundTrip(size_t n) {
    Post(cid_->qp, cbuf_.data() + kHalf, n, cmr_->lkey, remote_.addr + kHalf, remote_.rkey, true);
    Reap(ccq_, 1);
  }

  // Lets the passive side start answering the next size's ping-pongs.
  void StartPingPongPhase() {
    std::lock_guard<std::mutex> l(mu_);
    ++go_;
    cv_.notify_one();
  }

  // Writes n bytes ending in the next sequence number to the peer and waits
  // for its n-byte answer.
  void PingPong(size_t n) {
    // Sent from the upper half, answered into the lower half.
    uint64_t seq = ++client_seq_;
    std::memcpy(cbuf_.data() + kHalf + n - 8, &seq, 8);
    Post(cid_->qp, cbuf_.data() + kHalf, n, cmr_->lkey, remote_.addr, remote_.rkey, true);
    Reap(ccq_, 1);
    WaitSeq(cbuf_.data() + n - 8, seq);
  }

  // Tears both ends down (without a disconnect handshake: both are ours).
  void Close() {
    server_.join();
    rdma_destroy_qp(sid_);
    ibv_dereg_mr(smr_);
    ibv_destroy_cq(scq_);
    ibv_dealloc_pd(spd_);
    rdma_destroy_id(sid_);
    rdma_destroy_id(listen_);
    rdma_destroy_event_channel(ch_);
    rdma_destroy_qp(cid_);
    ibv_dereg_mr(cmr_);
    ibv_destroy_cq(ccq_);
    ibv_dealloc_pd(cpd_);
    rdma_destroy_id(cid_);
    rdma_destroy_event_channel(cch_);
  }

 private:
  static void MakeQp(rdma_cm_id* id, ibv_pd** pd, ibv_cq** cq, ibv_mr** mr,
                     std::vector<char>* buf) {
    *pd = ibv_alloc_pd(id->verbs);
    *cq = ibv_create_cq(id->verbs, 64, nullptr, nullptr, 0);
    ibv_qp_init_attr qa{};
    qa.send_cq = qa.recv_cq = *cq;
    qa.qp_type = IBV_QPT_RC;
    qa.cap.max_send_wr = 16;
    qa.cap.max_recv_wr = 1;
    qa.cap.max_send_sge = qa.cap.max_recv_sge = 1;
    if (*pd == nullptr || *cq == nullptr || rdma_create_qp(id, *pd, &qa)) Die("bare: qp");
    buf->assign(kBuf, 'p');
    *mr =
        ibv_reg_mr(*pd, buf->data(), buf->size(), IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
    if (*mr == nullptr) Die("bare: mr");
  }

  static void Post(ibv_qp* qp, const char* local, size_t n, uint32_t lkey, uint64_t raddr,
                   uint32_t rkey, bool signaled) {
    ibv_sge sge{reinterpret_cast<uintptr_t>(local), uint32_t(n), lkey};
    ibv_send_wr wr{};
    wr.opcode = IBV_WR_RDMA_WRITE;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.send_flags = signaled ? IBV_SEND_SIGNALED : 0;
    wr.wr.rdma.remote_addr = raddr;
    wr.wr.rdma.rkey = rkey;
    ibv_send_wr* bad = nullptr;
    if (ibv_post_send(qp, &wr, &bad)) Die("bare: post");
  }

  static void Reap(ibv_cq* cq, int n) {
    ibv_wc wc;
    for (int i = 0; i < n;) {
      int got = ibv_poll_cq(cq, 1, &wc);
      if (got < 0 || (got == 1 && wc.status != IBV_WC_SUCCESS)) Die("bare: completion");
      i += got;
    }
  }

  static void WaitSeq(const char* p, uint64_t seq) {
    // Pure spin, as perftest's ib_write_lat does.
    while (__atomic_load_n(reinterpret_cast<const uint64_t*>(p), __ATOMIC_ACQUIRE) != seq) {
    }
  }

  static void Expect(rdma_event_channel* ch, rdma_cm_event_type t, Remote* remote) {
    rdma_cm_event* ev = nullptr;
    if (rdma_get_cm_event(ch, &ev)) Die("bare: get event");
    if (ev->event != t) Die(std::string("bare: got ") + rdma_event_str(ev->event));
    if (remote != nullptr) {
      if (ev->param.conn.private_data_len < sizeof(Remote)) Die("bare: no private data");
      std::memcpy(remote, ev->param.conn.private_data, sizeof(Remote));
    }
    rdma_ack_cm_event(ev);
  }

  void Serve() {
    rdma_cm_event* ev = nullptr;
    if (rdma_get_cm_event(ch_, &ev) || ev->event != RDMA_CM_EVENT_CONNECT_REQUEST) Die("bare: req");
    sid_ = ev->id;
    Remote peer;
    std::memcpy(&peer, ev->param.conn.private_data, sizeof(peer));
    rdma_ack_cm_event(ev);
    MakeQp(sid_, &spd_, &scq_, &smr_, &sbuf_);
    Remote r{reinterpret_cast<uintptr_t>(sbuf_.data()), smr_->rkey, 0};
    rdma_conn_param cp{};
    cp.private_data = &r;
    cp.private_data_len = sizeof(r);
    cp.responder_resources = cp.initiator_depth = 1;
    if (rdma_accept(sid_, &cp)) Die("bare: accept");
    Expect(ch_, RDMA_CM_EVENT_ESTABLISHED, nullptr);
    uint64_t seq = 0;
    for (size_t k = 0; k < sizes_.size(); ++k) {
      const size_t n = sizes_[k];
      {
        // Sleep (not spin) until the client starts this size's ping-pong
        // phase, so the spinning does not steal CPU from the other phases.
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return go_ > k; });
      }
      for (int i = 0; i < iters_; ++i) {
        ++seq;
        WaitSeq(sbuf_.data() + n - 8, seq);
        Post(sid_->qp, sbuf_.data(), n, smr_->lkey, peer.addr, peer.rkey, true);
        Reap(scq_, 1);
      }
    }
  }

  std::vector<size_t> sizes_;
  int iters_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t go_ = 0;  // ping-pong phases the client has started
  rdma_event_channel* ch_ = nullptr;
  rdma_cm_id* listen_ = nullptr;
  uint16_t port_ = 0;
  std::thread server_;
  rdma_cm_id* sid_ = nullptr;
  ibv_pd* spd_ = nullptr;
  ibv_cq* scq_ = nullptr;
  ibv_mr* smr_ = nullptr;
  std::vector<char> sbuf_;
  rdma_event_channel* cch_ = nullptr;
  rdma_cm_id* cid_ = nullptr;
  ibv_pd* cpd_ = nullptr;
  ibv_cq* ccq_ = nullptr;
  ibv_mr* cmr_ = nullptr;
  std::vector<char> cbuf_;
  Remote remote_{};
  uint64_t client_seq_ = 0;
};

std::unique_ptr<rdma::RdmaServer> StartServer(const std::string& addr) {
  rdma::RdmaServerOptions o;
  o.listen = addr + ":0";
  o.ring_size = 64 << 20;
  o.capacity = 256 << 20;
  o.secret = kSecret;
  auto s = std::make_unique<rdma::RdmaServer>(o);
  Check(s->Start(), "start RdmaServer");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = std::getenv("RVM_RDMA_TEST_ADDR") ? std::getenv("RVM_RDMA_TEST_ADDR") : "";
  int iters = 2000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--addr" && i + 1 < argc) {
      addr = argv[++i];
    } else if (a == "--iters" && i + 1 < argc) {
      iters = std::max(10, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: rdma_bench [--addr IPV4] [--iters N]\n");
      return 2;
    }
  }
  if (addr.empty()) Die("no address: set RVM_RDMA_TEST_ADDR or pass --addr");

  auto server = StartServer(addr);
  Endpoint ep{"rdma", addr, server->port(), ""};
  ConnectOptions co;
  co.secret = kSecret;
  co.busy_poll = true;
  std::unique_ptr<Connection> conn;
  Check(rdma::RdmaConnection::Connect(ep, co, &conn), "connect");
  LogInfo info;
  Check(conn->Open("bench", 1, true, 0, &info), "open");

  const std::vector<size_t> sizes = {64, 256, 1024, 4096, 16384, 65536};
  const int warmup = iters / 10;
  BareRdma bare;
  bare.Listen(addr, sizes, warmup + iters);
  bare.Connect(addr);

  std::printf("RDMA append round trip vs bare RDMA round trips (same device, same run; us)\n");
  std::printf("%6s | %7s %8s %8s | %7s %8s | %7s %8s | %7s %7s\n", "bytes", "append", "p99",
              "p99.9", "write", "p99", "pingpong", "p99", "vs wr", "vs pp");
  std::vector<char> payload(64 * 1024, 'r');
  uint64_t off = 0;
  for (size_t size : sizes) {
    std::vector<double> app, raw, pp;
    // Phase 1: append and bare WRITE, alternating so drift hits both alike.
    for (int i = -warmup; i < iters; ++i) {  // the first tenth warms up
      auto t0 = Clock::now();
      iovec iov{payload.data(), size};
      Check(conn->StartAppend(off, &iov, 1), "append");
      uint64_t acked = 0;
      Check(conn->WaitAcked(off + size, &acked), "wait");
      auto t1 = Clock::now();
      bare.WriteRoundTrip(size);
      auto t2 = Clock::now();
      off += size;
      if (i >= 0) {
        app.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        raw.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
      }
      if (off > (48u << 20)) Check(conn->Trim(off, &info), "trim");  // keep the ring from filling
    }
    // Phase 2: ping-pong (its passive side spins only now).
    bare.StartPingPongPhase();
    for (int i = -warmup; i < iters; ++i) {
      auto t0 = Clock::now();
      bare.PingPong(size);
      if (i >= 0)
        pp.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    double a50 = Pct(app, 50), w50 = Pct(raw, 50), p50 = Pct(pp, 50);
    std::printf("%6zu | %7.1f %8.1f %8.1f | %7.1f %8.1f | %7.1f %8.1f | %6.2fx %6.2fx\n", size, a50,
                Pct(app, 99), Pct(app, 99.9), w50, Pct(raw, 99), p50, Pct(pp, 99), a50 / w50,
                a50 / p50);
  }
  bare.Close();

  conn.reset();

  std::printf(
      "(p50 unless marked; 'vs wr'/'vs pp': append p50 / bare WRITE p50, / ping-pong p50)\n");
  std::printf("\nPipelined append throughput through MirrorSet (4 KiB records)\n");
  auto second = StartServer(addr);
  for (int mirrors = 1; mirrors <= 2; ++mirrors) {
    MirrorSetOptions mo;
    mo.uris.push_back("rdma://" + addr + ":" + std::to_string(server->port()));
    if (mirrors == 2) mo.uris.push_back("rdma://" + addr + ":" + std::to_string(second->port()));
    mo.connect = co;
    std::unique_ptr<MirrorSet> set;
    Check(MirrorSet::Connect(mo, &set), "mirror set");
    std::vector<LogInfo> infos;
    std::string name = "tput" + std::to_string(mirrors);
    Check(set->Open(name, 1, true, 0, &infos), "open");
    std::fprintf(stderr, "rdma_bench: throughput with %d mirror(s)\n", mirrors);
    const size_t rec = 4096;
    const int n = iters * 4;
    uint64_t o = 0;
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      iovec iov{payload.data(), rec};
      Check(set->AppendAsync(o, &iov, 1), "append async");
      o += rec;
      if (o % (32u << 20) == 0) {
        Check(set->WaitAcked(o), "wait");
        Check(set->Trim(o), "trim");
      }
    }
    Check(set->WaitAcked(o), "wait");
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("  %d mirror%s: %8.0f appends/s  %8.1f MiB/s\n", mirrors, mirrors == 1 ? " " : "s",
                n / secs, double(o) / secs / (1 << 20));
  }
  std::printf("\n(Soft-RoCE figures: ratios only; absolute numbers say nothing about hardware.)\n");
  return 0;
}
