// rdsinit: creates an RVM data segment holding an RDS heap.
//
//   rdsinit [-f] log data_seg [datalen saddr hlen slen nlists chunk]
//
// Same arguments, prompts, number syntax (0x.. hex, 0.. octal, decimal) and
// -f behaviour as Coda's rdsinit, so setup scripts (vice-setup-rvm,
// run_basher.sh) drive it unchanged. The log must have been created first
// (rvmutl init_log). Without -f every value is confirmed on stdin.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <rvm/rds.h>
#include <rvm/rvm.h>
#include <rvm/rvm_segment.h>

#include "common/version.h"

namespace {

// The smallest chunk that holds a free block header and its end guard.
constexpr unsigned long kMinChunk = 5 * sizeof(unsigned long);

enum class Round { kUp, kNone };

// Thrown when the user answers q (or input ends); main prints the quit message.
struct Quit {};

void Usage() {
  printf("Usage: rdsinit [-f] log data_seg [ datalen saddr hlen slen nl chunk ] \n");
  printf("  where\n");
  printf("    -f       supplied parameter are firm, do not ask for confirm\n");
  printf("    log      is the name of log file/device\n");
  printf("    data_seg is the name of data segment file/device\n");
  printf("    datalen  gives the length of data segment\n");
  printf("    saddr    is the starting address of rvm\n");
  printf("    hlen     is the heap length\n");
  printf("    slen     is the static length\n");
  printf("    nl       is the number of free list used by RDS\n");
  printf("    chunk    is the chunksize\n");
  printf("  --help shows this, --version the version.\n");
}

// Reads one line from stdin; end of input counts as "q".
std::string ReadLine() {
  char buf[128];
  if (fgets(buf, sizeof(buf), stdin) == nullptr) return "q\n";
  return buf;
}

bool IsYes(const std::string& s) {
  return s == "y\n" || s == "Y\n" || s == "\n";
}
bool IsQuit(const std::string& s) {
  return s == "q\n" || s == "Q\n";
}

// 16, 8 or 10, from the way the number was typed.
int BaseOf(const std::string& s) {
  if (!s.empty() && s[0] == '0') return s.size() > 1 && s[1] == 'x' ? 16 : 8;
  return 10;
}

std::string Show(unsigned long v, int base) {
  char buf[96];
  if (base == 16) {
    snprintf(buf, sizeof(buf), "0x%lx (in decimal %lu)", v, v);
  } else if (base == 8) {
    snprintf(buf, sizeof(buf), "0%lo (in decimal %lu)", v, v);
  } else {
    snprintf(buf, sizeof(buf), "%ld (in hex 0x%lx)", v, v);
  }
  return buf;
}

// Shows what was typed, raises it to `min`, rounds it up to a multiple of
// `unit`, and asks for acceptance. True (and *value updated) when accepted.
bool Confirm(unsigned long* value, int base, unsigned long unit, Round round, unsigned long min) {
  printf("   ====> You have entered %s. ", Show(*value, base).c_str());
  unsigned long v = *value;
  if (v < min) {
    printf("\n");
    printf("         Umm... minimum is %lu (in hex 0x%lx) ", min, min);
    v = min;
  }
  unsigned long rounded = v;
  if (round == Round::kUp && unit != 0 && v % unit != 0) rounded = v + unit - v % unit;
  if (rounded != v) {
    printf("\n");
    printf("         Umm... not a multiple of %lu.  I need to round it\n", unit);
    printf("         up to %s. ", Show(rounded, base).c_str());
  }
  printf("Accept ? (y|n|q) ");
  fflush(stdout);
  std::string answer = ReadLine();
  if (IsYes(answer)) {
    *value = rounded;
    return true;
  }
  if (IsQuit(answer)) throw Quit{};
  return false;
}

// Prompts until a confirmed value is entered.
unsigned long Ask(const char* prompt, unsigned long unit, Round round, unsigned long min) {
  for (;;) {
    printf("%s", prompt);
    fflush(stdout);
    std::string line = ReadLine();
    if (feof(stdin)) throw Quit{};
    int base = BaseOf(line);
    unsigned long v = strtoul(line.c_str(), nullptr, 0);
    if (Confirm(&v, base, unit, round, min)) return v;
  }
}

struct Params {
  unsigned long datalen = 0, saddr = 0, hlen = 0, slen = 0, nlists = 0, chunk = 0;
};

void AskAll(Params* p) {
  const unsigned long page = RVM_PAGE_SIZE;
  printf("\n============================================================\n");
  printf("  Getting parameters for RDS\n");
  printf("============================================================\n");
  printf("1) length of data segment file/device\n");
  printf("   The segment holds a header page, the heap and the statics;\n");
  printf("   its length must be a multiple of the page size.\n");
  p->datalen = Ask("   ==> please enter length of data segment:", page, Round::kUp, 3 * page);
  printf("2) starting address of rvm\n");
  printf("   Heap and statics are mapped at this page-aligned address; it must\n");
  printf("   not collide with anything else the program maps (e.g. 0x50000000).\n");
  p->saddr = Ask("   ==> please enter starting address of rvm: ", page, Round::kUp, 0x2000000);
  for (;;) {
    printf("3) heap length\n");
    printf("   Size of the RDS heap, a multiple of the page size.\n");
    p->hlen = Ask("   ==> please enter the heap length: ", page, Round::kUp, page);
    printf("4) static length\n");
    printf("   Size of the application's static area, a multiple of the page size.\n");
    p->slen = Ask("   ==> please enter the static length: ", page, Round::kUp, page);
    if (p->datalen >= p->hlen + p->slen + RVM_SEGMENT_HDR_SIZE) break;
    printf("\n");
    printf("   Sorry ! your heap len + static len is too large !\n");
    printf("   their sum must be less than 0x%lx (%ld)\n", p->datalen - page,
           p->datalen - RVM_SEGMENT_HDR_SIZE);
    printf("   please re-enter\n\n");
  }
  printf("5) nlists\n");
  printf("   Number of RDS free lists (100 is a reasonable choice).\n");
  p->nlists = Ask("   ==> please enter a decimal value for nlists: ", 0, Round::kNone, 1);
  printf("6) chunksize\n");
  printf("   Allocation unit; free lists hold blocks of 1 to nlists chunks.\n");
  printf("   A multiple of the pointer size, at least %lu.\n", kMinChunk);
  p->chunk =
      Ask("   ==> please enter a decimal value for chunksize: ", sizeof(char*), Round::kUp, 32);
}

// Shows the chosen values; true when the user agrees.
bool AgreeWith(const Params& p) {
  printf("\n");
  printf("The following parameters are chosen:\n");
  printf("   length of data segment: %#10lx (%10ld)\n", p.datalen, p.datalen);
  printf("  starting address of rvm: %#10lx (%10lu)\n", p.saddr, p.saddr);
  printf("                 heap len: %#10lx (%10ld)\n", p.hlen, p.hlen);
  printf("               static len: %#10lx (%10ld)\n", p.slen, p.slen);
  printf("                   nlists: %#10lx (%10ld)\n", p.nlists, p.nlists);
  printf("               chunk size: %#10lx (%10ld)\n", p.chunk, p.chunk);
  printf("Do you agree with these parameters ? (y|n|q) ");
  fflush(stdout);
  std::string answer = ReadLine();
  if (IsQuit(answer)) throw Quit{};
  return IsYes(answer);
}

// Checks firm (-f) parameters the interactive path would have enforced.
// Returns an explanation, or an empty string when they are usable.
std::string CheckFirm(const Params& p) {
  const unsigned long page = RVM_PAGE_SIZE;
  if (p.saddr % page != 0) return "starting address must be page-aligned";
  if (p.hlen == 0 || p.hlen % page != 0) return "heap length must be a multiple of the page size";
  if (p.nlists == 0) return "nlists must be at least 1";
  if (p.hlen + p.slen + RVM_SEGMENT_HDR_SIZE > p.datalen) {
    return "heap len + static len + one page exceeds the data segment length";
  }
  return "";
}

bool ZeroFill(const char* name, unsigned long datalen) {
  int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    printf("?  Couldn't truncate %s.\n", name);
    return false;
  }
  printf("Going to initialize data file to zero, could take awhile.\n");
  fflush(stdout);
  // Whole 4 KiB blocks, as the original writes them.
  const unsigned long total = (datalen + 4095) / 4096 * 4096;
  std::vector<char> zeros(1 << 20, 0);
  for (unsigned long done = 0; done < total;) {
    size_t n = static_cast<size_t>(std::min<unsigned long>(zeros.size(), total - done));
    ssize_t w = write(fd, zeros.data(), n);
    if (w <= 0) {
      printf("?  Couldn't write to %s.\n", name);
      close(fd);
      return false;
    }
    done += static_cast<unsigned long>(w);
  }
  close(fd);
  printf("done.\n");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  bool firm = false;
  bool bad_option = false;
  std::vector<char*> args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      Usage();
      return EXIT_SUCCESS;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      printf("%s\n", RVMR_VERSION_LINE("rdsinit"));
      return EXIT_SUCCESS;
    }
    if (argv[i][0] == '-' && argv[i][1] != '\0') {
      for (const char* c = argv[i] + 1; *c; ++c) {
        if (*c == 'f') {
          firm = true;
        } else {
          fprintf(stderr, "%s: invalid option -- '%c'\n", argv[0], *c);
          bad_option = true;
        }
      }
    } else {
      args.push_back(argv[i]);
    }
  }
  if ((args.size() != 2 && args.size() != 8) || bad_option) {
    Usage();
    return EXIT_FAILURE;
  }
  char* log_name = args[0];
  char* data_name = args[1];

  rvm_options_t options;
  rvm_init_options(&options);
  options.log_dev = log_name;
  rvm_return_t ret = RVM_INIT(&options);
  if (ret != RVM_SUCCESS) {
    printf("?  rvm_initialize failed, code: %s\n", rvm_return(ret));
    return EXIT_FAILURE;
  }
  printf("rvm_initialize succeeded.\n");

  Params p;
  try {
    bool given = args.size() == 8;
    if (given) {
      p.datalen = strtoul(args[2], nullptr, 0);
      p.saddr = strtoul(args[3], nullptr, 0);
      p.hlen = strtoul(args[4], nullptr, 0);
      p.slen = strtoul(args[5], nullptr, 0);
      p.nlists = strtoul(args[6], nullptr, 0);
      p.chunk = strtoul(args[7], nullptr, 0);
    }
    if (!(given && firm)) {
      // Values from the command line are shown for confirmation first;
      // a "no" falls back to asking for each one.
      for (bool first = true;; first = false) {
        if (!(first && given)) AskAll(&p);
        if (AgreeWith(p)) break;
      }
    }
  } catch (const Quit&) {
    printf("rdsinit quit.  No permanent change is made\n");
    return EXIT_FAILURE;
  }
  if (p.chunk < kMinChunk) {
    printf("? chucksize should be at least %lu bytes\n", kMinChunk);
    printf("rdsinit quit.  No permanent change is made\n");
    return EXIT_FAILURE;
  }
  if (std::string why = CheckFirm(p); !why.empty()) {
    printf("? invalid rdsinit parameters: %s\n", why.c_str());
    printf("rdsinit quit.  No permanent change is made\n");
    return EXIT_FAILURE;
  }
  if (!ZeroFill(data_name, p.datalen)) return EXIT_FAILURE;

  int err = SUCCESS;
  rds_zap_heap(data_name, RVM_MK_OFFSET(0, p.datalen), reinterpret_cast<char*>(p.saddr), p.slen,
               p.hlen, p.nlists, p.chunk, &err);
  if (err == SUCCESS) {
    printf("rds_zap_heap completed successfully.\n");
  } else if (err > SUCCESS) {
    printf("?  ERROR: rds_zap_heap %s.\n", rvm_return(err));
    return EXIT_FAILURE;
  } else {
    printf("?  ERROR: rds_zap_heap, code: %d\n", err);
    return EXIT_FAILURE;
  }
  ret = rvm_terminate();
  if (ret != RVM_SUCCESS) {
    printf("\n? Error in rvm_terminate, ret = %s\n", rvm_return(ret));
    return EXIT_FAILURE;
  }
  printf("rvm_terminate succeeded.\n");
  return EXIT_SUCCESS;
}
