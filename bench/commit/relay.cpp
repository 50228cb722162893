#include "relay.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "ping_pong.h"

namespace commit_bench {

namespace {

// Timing. A chunk's clock starts when the kernel received it (SO_TIMESTAMPNS),
// so the relay's own wake-up on data adds nothing (nor does reading late).
// A sleep towards a deadline ends late by the timer's wake-up latency (tens of
// microseconds on a VM), so each direction tracks the 75th percentile of that
// latency and sleeps until deadline - that; a wake-up that comes early spins
// the rest (a few microseconds on average), one that comes late forwards at
// once. Most chunks then leave on time, and the spinning (CPU that the RVM
// process shares the machine with) stays short. The relay's CPU per round
// trip is still tens of microseconds on a VM (two wake-ups per direction).
constexpr int64_t kMinSpinNs = 1000;
constexpr int64_t kMaxEarlyNs = 60000;
constexpr int64_t kQuantileStepNs = 250;
constexpr size_t kReadSize = 256u << 10;
// A direction stops reading while this much is queued (back pressure).
constexpr size_t kMaxQueued = 64u << 20;

int64_t Ns(const timespec& ts) {
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t ClockNs(clockid_t clock) {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return Ns(ts);
}

int64_t NowNs() {
  return ClockNs(CLOCK_MONOTONIC);
}

// CLOCK_REALTIME - CLOCK_MONOTONIC: receive timestamps are in real time.
const int64_t kRealMinusMono = ClockNs(CLOCK_REALTIME) - NowNs();

// recv() that also says when the kernel received the data (CLOCK_MONOTONIC;
// now where the socket gives no timestamp).
ssize_t RecvStamped(int fd, char* buf, size_t len, int64_t* at) {
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(timespec))];
  iovec iov{buf, len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  *at = NowNs();
  if (n <= 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec ts;
    std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
    *at = std::min(*at, Ns(ts) - kRealMinusMono);
  }
  return n;
}

// Both sockets of one relayed connection, closed when both directions end.
struct Connection {
  Connection(int c, int s) : client(c), server(s) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  const int client, server;
  ~Connection() {
    ::close(client);
    ::close(server);
  }
};

// One direction of a connection: reads chunks from src, stamps each with
// its due time, and writes them to dst in order as each comes due.
class Pump {
 public:
  Pump(int src, int dst, int64_t delay_ns) : src_(src), dst_(dst), delay_(delay_ns) {}
  void Run();

 private:
  struct Chunk {
    int64_t due;
    std::vector<char> data;
    size_t off = 0;
  };
  bool CanRead() const { return !eof_ && queued_ < kMaxQueued; }
  void ReadAvailable();
  void ForwardDue();
  void Wait();
  void Spin(int64_t deadline);
  void LearnWakeLatency(int64_t late_ns);

  const int src_, dst_;
  const int64_t delay_;
  std::deque<Chunk> queue_;
  size_t queued_ = 0;
  bool eof_ = false, blocked_ = false, failed_ = false;
  int64_t early_ns_ = 0;  // sleeps end this long before a deadline
  std::vector<char> buf_ = std::vector<char>(kReadSize);
};

void Pump::Run() {
  for (;;) {
    ForwardDue();
    if (failed_ || (eof_ && queue_.empty())) break;
    Wait();
  }
  if (failed_) {  // tear the whole connection down: the other direction ends too
    ::shutdown(src_, SHUT_RDWR);
    ::shutdown(dst_, SHUT_RDWR);
  } else {
    ::shutdown(dst_, SHUT_WR);
  }
}

// Reads whatever src holds now; each read is one chunk, due delay_ after the
// kernel received it.
void Pump::ReadAvailable() {
  while (CanRead()) {
    int64_t at = 0;
    ssize_t n = RecvStamped(src_, buf_.data(), buf_.size(), &at);
    if (n > 0) {
      queue_.push_back(Chunk{at + delay_, std::vector<char>(buf_.data(), buf_.data() + n)});
      queued_ += static_cast<size_t>(n);
    } else if (n == 0) {
      eof_ = true;
    } else if (errno != EINTR) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) eof_ = failed_ = true;
      return;
    }
  }
}

// Writes the chunks that are due, in order, until dst would block.
void Pump::ForwardDue() {
  const int64_t now = NowNs();
  while (!queue_.empty() && queue_.front().due <= now) {
    Chunk& c = queue_.front();
    ssize_t n =
        ::send(dst_, c.data.data() + c.off, c.data.size() - c.off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        blocked_ = true;
      else
        failed_ = true;
      return;
    }
    c.off += static_cast<size_t>(n);
    if (c.off == c.data.size()) {
      queued_ -= c.data.size();
      queue_.pop_front();
    }
  }
  blocked_ = false;
}

void Pump::Spin(int64_t deadline) {
  while (NowNs() < deadline) {
  }
}

// Follows the 75th percentile of the timer's wake-up latency: 3 steps up for
// a sample above, 1 down for one below balance where 1 in 4 is above.
void Pump::LearnWakeLatency(int64_t late_ns) {
  early_ns_ += late_ns > early_ns_ ? 3 * kQuantileStepNs : -kQuantileStepNs;
  early_ns_ = std::clamp<int64_t>(early_ns_, 0, kMaxEarlyNs);
}

// Sleeps until src has data, dst can take more (when blocked), or the next
// chunk is nearly due (then spins to its deadline).
void Pump::Wait() {
  const bool have_due = !queue_.empty() && !blocked_;
  const int64_t deadline = have_due ? queue_.front().due : 0;
  if (have_due && deadline - NowNs() <= early_ns_ + kMinSpinNs) return Spin(deadline);
  pollfd fds[2];
  nfds_t n = 0;
  if (CanRead()) fds[n++] = pollfd{src_, POLLIN, 0};
  if (blocked_) fds[n++] = pollfd{dst_, POLLOUT, 0};
  timespec ts{}, *timeout = nullptr;
  const int64_t wake = deadline - early_ns_;
  if (have_due) {
    const int64_t wait = std::max<int64_t>(0, wake - NowNs());
    ts = timespec{static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
    timeout = &ts;
  }
  const int ready = ::ppoll(fds, n, timeout, nullptr);
  if (ready < 0) {
    if (errno != EINTR) failed_ = true;
    return;
  }
  if (ready == 0 && have_due) LearnWakeLatency(NowNs() - wake);
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    if (fds[i].fd == src_) ReadAvailable();
    if (fds[i].fd == dst_) blocked_ = false;
  }
}

void StartConnection(int client, uint16_t target_port, int64_t one_way_ns) {
  int server = ConnectLoopback(target_port);
  if (server < 0) {
    ::close(client);
    return;
  }
  int one = 1;
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  for (int fd : {client, server}) ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  auto conn = std::make_shared<Connection>(client, server);
  std::thread([conn, one_way_ns] { Pump(conn->client, conn->server, one_way_ns).Run(); }).detach();
  std::thread([conn, one_way_ns] { Pump(conn->server, conn->client, one_way_ns).Run(); }).detach();
}

}  // namespace

int RelayMain(int argc, char** argv) {
  if (argc < 5) Die("--relay LISTEN_FD TARGET_PORT ONE_WAY_NS");
  const int lfd = std::atoi(argv[2]);
  const auto target_port = static_cast<uint16_t>(std::atoi(argv[3]));
  const int64_t one_way_ns = std::atoll(argv[4]);
  // Sleeps end when asked, not up to 50 us later (the default timer slack);
  // the pump threads inherit this.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  ::signal(SIGPIPE, SIG_IGN);
  for (;;) {
    int client = ::accept(lfd, nullptr, nullptr);
    if (client >= 0)
      StartConnection(client, target_port, one_way_ns);
    else if (errno != EINTR && errno != ECONNABORTED)
      return 1;
  }
}

DelayRelay::DelayRelay(const std::string& self, uint16_t target_port, int rtt_us) {
  int lfd = ListenLoopback(&port_);
  if (lfd < 0) Die("relay: bind/listen failed");
  // Everything the child needs is built before fork: it only execs.
  const std::string fd_arg = std::to_string(lfd), port_arg = std::to_string(target_port),
                    ns_arg = std::to_string(int64_t{rtt_us} * 1000 / 2);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) Die("relay: fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0UL, 0UL, 0UL);
    if (::getppid() != parent) _exit(0);
    ::execl(self.c_str(), self.c_str(), "--relay", fd_arg.c_str(), port_arg.c_str(), ns_arg.c_str(),
            static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(lfd);  // the relay holds it; connections queue there until it accepts
}

double DelayRelay::CpuSeconds() const {
  const std::string path = "/proc/" + std::to_string(pid_) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return 0;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Fields after the command name "(...)": state is field 3, utime 14, stime 15.
  const char* p = std::strrchr(buf, ')');
  unsigned long utime = 0, stime = 0;
  if (p == nullptr || std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                                  &utime, &stime) != 2)
    return 0;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

DelayRelay::~DelayRelay() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
}

}  // namespace commit_bench
