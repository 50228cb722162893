/* Linked under some of the original's library names (see install_test.sh);
 * loads the others with dlopen. Every name must come to one file mapped once:
 * one RVM implementation and one RVM state. Exit 0 when so, 1 otherwise. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <rvm/rds.h>
#include <rvm/rvm.h>
#include <rvm/rvm_segment.h>


/* Distinct files mapped whose name starts with `prefix` ("librvm", ...). */
static int MappedFiles(const char* prefix) {
  char seen[16][512];
  int n = 0;
  char line[1024];
  FILE* f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  while (fgets(line, sizeof(line), f)) {
    char* path = strchr(line, '/');
    if (!path) continue;
    path[strcspn(path, "\n")] = '\0';
    const char* base = strrchr(path, '/') + 1;
    if (strncmp(base, prefix, strlen(prefix)) != 0) continue;
    int dup = 0;
    for (int i = 0; i < n; i++) dup |= strcmp(seen[i], path) == 0;
    if (!dup && n < 16) snprintf(seen[n++], sizeof(seen[0]), "%s", path);
  }
  fclose(f);
  for (int i = 0; i < n; i++) printf("  %s mapped: %s\n", prefix, seen[i]);
  return n;
}

int main(void) {
  static const char* const kNames[] = {"librvm.so.1",   "librvmpt.so.1", "librvmlwp.so.1",
                                       "libseg.so.1",   "libsegpt.so.1", "libseglwp.so.1",
                                       "librds.so.1",   "librdspt.so.1", "librdslwp.so.1"};
  int bad = 0;
  /* The three names of each library must give one loaded object (one
   * handle): one implementation, one state. */
  void* first[3] = {NULL, NULL, NULL};
  for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); i++) {
    void* h = dlopen(kNames[i], RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
      printf("dlopen %s: %s\n", kNames[i], dlerror());
      bad = 1;
      continue;
    }
    if (!first[i / 3]) first[i / 3] = h;
    if (h != first[i / 3]) {
      printf("%s is loaded as an object of its own\n", kNames[i]);
      bad = 1;
    }
  }
  /* Referenced so that the link keeps every library named on its line. */
  printf("rvm_return(RVM_SUCCESS) = %s, rds_zap_heap at %p, rvm_load_segment at %p\n",
         rvm_return(RVM_SUCCESS), (void*)&rds_zap_heap, (void*)&rvm_load_segment);
  if (MappedFiles("librvm") != 1 || MappedFiles("libseg") != 1 || MappedFiles("librds") != 1) {
    printf("a library is mapped from more than one file\n");
    bad = 1;
  }
  return bad;
}
