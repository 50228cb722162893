// rvm-aead-bench: what sealing one record costs the writer, per AEAD, alone
// (no RVM, no network): the AEAD pass of record_sealer.h over a payload, in
// its two uses: authenticating a payload in clear (it is additional data)
// and encrypting it. Both AEADs the sealer uses (ChaCha20-Poly1305 for
// authenticated records, AES-256-GCM for encrypted ones and for the
// authenticated records of earlier releases) are timed side by side, in one
// run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "common/version.h"
#include "shim/aead.h"

namespace {

using rvmr::log::Aead;

// Median over `rounds` of the mean time of one Seal of `size` bytes, us.
double TimeSeal(Aead* a, size_t size, bool encrypt, int rounds) {
  std::string in(size, 'x'), out(size, '\0');
  uint8_t iv[rvmr::log::kAeadIvSize] = {}, tag[rvmr::log::kAeadTagSize];
  const int iters = static_cast<int>(std::max<size_t>(50, (64u << 20) / std::max<size_t>(size, 1)));
  std::vector<double> per;
  for (int r = 0; r < rounds; r++) {
    auto t0 = commit_bench::Clock::now();
    for (int i = 0; i < iters; i++) {
      std::memcpy(iv, &i, sizeof i);
      const std::string_view aad[] = {encrypt ? std::string_view() : std::string_view(in)};
      if (!a->Seal(iv, aad, 1, in.data(), out.data(), encrypt ? size : 0, tag).ok())
        commit_bench::Die(std::string(a->name()) + " sealing failed");
    }
    per.push_back(commit_bench::Seconds(commit_bench::Clock::now() - t0) * 1e6 / iters);
  }
  std::sort(per.begin(), per.end());
  return per[per.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string sizes = "64,4096,65536";
  int rounds = 7;
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    if (arg == "--version") {
      std::printf("%s\n", RVMR_VERSION_LINE("rvm-aead-bench"));
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: rvm-aead-bench [--sizes LIST] [--rounds N]\n"
          "Times one record seal per AEAD (AES-256-GCM, ChaCha20-Poly1305), authenticating\n"
          "a payload in clear and encrypting it, per payload size (default 64,4096,65536);\n"
          "prints the median of N rounds (default 7) of the mean time per seal.\n");
      return 0;
    } else if (arg == "--sizes" && i + 1 < argc) {
      sizes = argv[++i];
    } else if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
      if (rounds <= 0) commit_bench::Die("--rounds takes N >= 1");
    } else {
      std::fprintf(stderr, "rvm-aead-bench: unknown argument '%s' (see --help)\n", arg.c_str());
      return 2;
    }
  }
  const std::string key(rvmr::log::kAeadKeySize, '\x42');
  std::unique_ptr<Aead> gcm, chacha;
  if (!Aead::Create(Aead::Algorithm::kAes256Gcm, key, &gcm).ok() ||
      !Aead::Create(Aead::Algorithm::kChaCha20Poly1305, key, &chacha).ok())
    commit_bench::Die("cannot set up the ciphers");
  std::printf("one seal, microseconds (median of %d rounds)\n", rounds);
  std::printf("%9s  %-26s %-26s\n", "size", "authenticate: GCM / ChaCha", "encrypt: GCM / ChaCha");
  for (size_t size : commit_bench::ParseList<size_t>(sizes)) {
    const double ga = TimeSeal(gcm.get(), size, false, rounds);
    const double ca = TimeSeal(chacha.get(), size, false, rounds);
    const double ge = TimeSeal(gcm.get(), size, true, rounds);
    const double ce = TimeSeal(chacha.get(), size, true, rounds);
    std::printf("%9zu  %7.2f / %7.2f (%4.2fx)    %7.2f / %7.2f (%4.2fx)\n", size, ga, ca, ga / ca, ge,
                ce, ge / ce);
  }
  return 0;
}
