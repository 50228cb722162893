#include "fuzz_log_parser.h"

#include <sys/mman.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "commands.h"

namespace rvmr::tools {

int FuzzLogFile(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("rvm-log-fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t w = ::write(fd, data + done, size - done);
    if (w <= 0) {
      ::close(fd);
      return 0;
    }
    done += size_t(w);
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  std::ostringstream out, err;
  InspectOptions io;
  io.log_paths = {path};
  RunInspect(io, out, err);
  io.json = true;
  io.segment = "1";
  RunInspect(io, out, err);
  VerifyOptions vo;
  vo.log_paths = {path};
  RunVerify(vo, out, err);
  ReplayCmdOptions ro;
  ro.log_path = path;
  ro.from = "disk";
  ro.dry_run = true;
  ro.progress = 0;
  RunReplay(ro, out, err);
  ::close(fd);
  return 0;
}

}  // namespace rvmr::tools

#ifdef RVM_LOG_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return rvmr::tools::FuzzLogFile(data, size);
}
#endif
