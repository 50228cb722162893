/*
 * rvm.h - the Recoverable Virtual Memory interface.
 *
 * Source- and binary-compatible with Coda's RVM 1.3 interface: every type,
 * enum value, return code, macro and function below has the name, value and
 * x86-64 layout that existing RVM programs were compiled against (see
 * docs/compatibility.md). The multiple-inclusion guard is RVM_VERSION itself,
 * as programs test for it.
 */
#ifndef RVM_VERSION

#define RVM_VERSION "RVM Interface Version 1.3  7 Mar 1994"
#define RVM_VERSION_MAX 128

#ifndef _PARALLEL_LIBRARIES
#define _PARALLEL_LIBRARIES 1
#endif

#include <sys/param.h>
#include <sys/time.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

typedef enum { rvm_false = 0, rvm_true = 1 } rvm_bool_t;

/* First field of every RVM descriptor: identifies its type. */
typedef enum {
  rvm_first_struct_id = 39,
  rvm_region_id,     /* 40 */
  rvm_options_id,    /* 41 */
  rvm_tid_id,        /* 42 */
  rvm_statistics_id, /* 43 */
  rvm_last_struct_id /* 44 */
} rvm_struct_id_t;

/* Transaction begin modes (restore, no_restore) and end modes (flush, no_flush). */
typedef enum {
  rvm_first_mode = 139,
  restore,      /* 140: abort puts the old values back */
  no_restore,   /* 141: the caller promises never to abort */
  flush,        /* 142: commit is durable when end_transaction returns */
  no_flush,     /* 143: commit is buffered until rvm_flush or a later flush commit */
  rvm_last_mode /* 144 */
} rvm_mode_t;

typedef int rvm_return_t;
#define RVM_SUCCESS 0
#define rvm_first_code 199
#define RVM_EINIT 200              /* RVM not initialized (or already terminated) */
#define RVM_EINTERNAL 201          /* internal error, message in rvm_errmsg */
#define RVM_EIO 202                /* I/O error, errno tells which */
#define RVM_ELOG 204               /* bad or missing log device */
#define RVM_ELOG_VERSION_SKEW 205  /* log written by an incompatible version */
#define RVM_EMODE 206              /* bad transaction mode */
#define RVM_ENAME_TOO_LONG 207     /* device name too long */
#define RVM_ENO_MEMORY 208         /* out of memory */
#define RVM_ENOT_MAPPED 209        /* address range not in a mapped region */
#define RVM_EOFFSET 210            /* bad segment offset */
#define RVM_EOPTIONS 211           /* bad options descriptor */
#define RVM_EOVERLAP 212           /* segment range already mapped */
#define RVM_EPAGER 213             /* bad external pager */
#define RVM_ERANGE 214             /* bad virtual memory address */
#define RVM_EREGION 215            /* bad region descriptor */
#define RVM_EREGION_DEF 216        /* bad region definition */
#define RVM_ESRC 217               /* bad source range */
#define RVM_ESTATISTICS 218        /* bad statistics descriptor */
#define RVM_ESTAT_VERSION_SKEW 219 /* statistics version mismatch */
#define RVM_ETERMINATED 220        /* stopped by an error already reported */
#define RVM_ETHREADS 221           /* bad thread library */
#define RVM_ETID 222               /* bad transaction identifier */
#define RVM_ETOO_BIG 223           /* larger than the log or an internal limit */
#define RVM_EUNCOMMIT 224          /* uncommitted transactions exist */
#define RVM_EVERSION_SKEW 225      /* library and header versions differ */
#define RVM_EVM_OVERLAP 226        /* virtual memory range already mapped */
#define rvm_last_code 227

/* Printable names of return codes, modes and descriptor types. */
char *rvm_return(rvm_return_t code);
char *rvm_mode(rvm_mode_t mode);
char *rvm_type(rvm_struct_id_t id);

/* Lengths and 128-bit segment offsets. Use the macros, not the fields. */
typedef unsigned long rvm_length_t;

typedef struct {
  rvm_length_t high;
  rvm_length_t low;
} rvm_offset_t;

#define RVM_MK_OFFSET(x, y) rvm_mk_offset((rvm_length_t)(x), (rvm_length_t)(y))
#define RVM_OFFSET_INITIALIZER(x, y) {(x), (y)}
#define RVM_ZERO_OFFSET(x) (x) = RVM_MK_OFFSET(0, 0)
#define RVM_OFFSET_TO_LENGTH(x) ((x).low)
#define RVM_OFFSET_HIGH_BITS_TO_LENGTH(x) ((x).high)
#define RVM_LENGTH_TO_OFFSET(x) RVM_MK_OFFSET(0, (x))

#define RVM_ADD_OFFSETS(x, y) rvm_add_offsets(&(x), &(y))
#define RVM_ADD_LENGTH_TO_OFFSET(x, y) rvm_add_length_to_offset(&(x), (y))
#define RVM_ADD_LENGTH_TO_ADDR(length, vmaddr) \
  ((char *)((rvm_length_t)(length) + (rvm_length_t)(vmaddr)))
#define RVM_SUB_OFFSETS(x, y) rvm_sub_offsets(&(x), &(y))
#define RVM_SUB_LENGTH_FROM_OFFSET(x, y) rvm_sub_length_from_offset(&(x), (y))
#define RVM_SUB_LENGTH_FROM_ADDR(vmaddr, length) \
  ((char *)((rvm_length_t)(vmaddr) - (rvm_length_t)(length)))

#define RVM_OFFSET_LSS(x, y) \
  (((x).high < (y).high) || (((x).high == (y).high) && ((x).low < (y).low)))
#define RVM_OFFSET_GTR(x, y) \
  (((x).high > (y).high) || (((x).high == (y).high) && ((x).low > (y).low)))
#define RVM_OFFSET_LEQ(x, y) (!RVM_OFFSET_GTR((x), (y)))
#define RVM_OFFSET_GEQ(x, y) (!RVM_OFFSET_LSS((x), (y)))
#define RVM_OFFSET_EQL(x, y) (((x).high == (y).high) && ((x).low == (y).low))
#define RVM_OFFSET_EQL_ZERO(x) (((x).high == 0) && ((x).low == 0))

/* Page size and rounding; rvm_page_size() is 0 until rvm_initialize. */
#define RVM_PAGE_SIZE rvm_page_size()
#define RVM_ROUND_LENGTH_UP_TO_PAGE_SIZE(x) \
  ((rvm_length_t)(((rvm_length_t)(x) + rvm_page_size() - 1) & rvm_page_mask()))
#define RVM_ROUND_LENGTH_DOWN_TO_PAGE_SIZE(x) ((rvm_length_t)((rvm_length_t)(x) & rvm_page_mask()))
#define RVM_ROUND_ADDR_UP_TO_PAGE_SIZE(x) \
  ((char *)(((rvm_length_t)(x) + rvm_page_size() - 1) & rvm_page_mask()))
#define RVM_ROUND_ADDR_DOWN_TO_PAGE_SIZE(x) ((char *)((rvm_length_t)(x) & rvm_page_mask()))
#define RVM_ROUND_OFFSET_UP_TO_PAGE_SIZE(x) rvm_rnd_offset_up_to_page(&(x))
#define RVM_ROUND_OFFSET_DOWN_TO_PAGE_SIZE(x) rvm_rnd_offset_dn_to_page(&(x))

/* Transaction identifier (40 bytes on x86-64). */
typedef struct {
  rvm_struct_id_t struct_id; /* rvm_tid_id */
  rvm_bool_t from_heap;      /* allocated by rvm_malloc_tid */
  struct timeval uname;      /* unique name: the begin timestamp */
  void *tid;                 /* library-private */
  rvm_length_t reserved;     /* library-private */
} rvm_tid_t;

rvm_tid_t *rvm_malloc_tid(void);
void rvm_init_tid(rvm_tid_t *tid);
rvm_tid_t *rvm_copy_tid(rvm_tid_t *tid);
void rvm_free_tid(rvm_tid_t *tid);

/* Options (120 bytes on x86-64). */
typedef struct {
  rvm_struct_id_t struct_id;    /* rvm_options_id */
  rvm_bool_t from_heap;         /* allocated by rvm_malloc_options */
  char *log_dev;                /* log file or device */
  long truncate;                /* truncation threshold, percent of the log (0: never) */
  rvm_length_t recovery_buf_len;
  rvm_length_t flush_buf_len;
  rvm_length_t max_read_len;
  rvm_bool_t log_empty;         /* set by rvm_query: the log holds nothing */
  char *pager;                  /* external pager (unsupported, as in the original) */
  long n_uncommit;              /* rvm_query: entries in tid_array */
  rvm_tid_t *tid_array;         /* rvm_query: the uncommitted transactions */
  rvm_length_t flags;           /* RVM_COALESCE_*, RVM_MAP_PRIVATE */
  rvm_bool_t create_log_file;   /* rvm_initialize creates log_dev if missing */
  rvm_offset_t create_log_size; /* its data area length */
  long create_log_mode;         /* its file mode */
} rvm_options_t;

#define TRUNCATE 50
#define RECOVERY_BUF_LEN (256 * 1024)
#define MIN_RECOVERY_BUF_LEN (64 * 1024)
#define FLUSH_BUF_LEN (256 * 1024)
#define MIN_FLUSH_BUF_LEN (64 * 1024)
#define MAX_READ_LEN (512 * 1024)

#define RVM_COALESCE_RANGES 1 /* merge overlapping ranges within a transaction */
#define RVM_COALESCE_TRANS 2  /* merge ranges across queued no_flush transactions */
#define RVM_ALL_OPTIMIZATIONS (RVM_COALESCE_RANGES | RVM_COALESCE_TRANS)
#define RVM_MAP_PRIVATE 8     /* map segments privately instead of copying */

rvm_options_t *rvm_malloc_options(void);
void rvm_init_options(rvm_options_t *options);
rvm_options_t *rvm_copy_options(rvm_options_t *options);
void rvm_free_options(rvm_options_t *options);

/* Region descriptor (72 bytes on x86-64). */
typedef struct {
  rvm_struct_id_t struct_id; /* rvm_region_id */
  rvm_bool_t from_heap;      /* allocated by rvm_malloc_region */
  char *data_dev;            /* segment file or device */
  rvm_offset_t dev_length;   /* device length (raw devices) */
  rvm_offset_t offset;       /* region offset in the segment */
  char *vmaddr;              /* where it is mapped (NULL: the library chooses) */
  rvm_length_t length;       /* region length (0: to the end of the segment) */
  rvm_bool_t no_copy;        /* do not read the segment's contents */
} rvm_region_t;

rvm_region_t *rvm_malloc_region(void);
void rvm_init_region(rvm_region_t *region);
rvm_region_t *rvm_copy_region(rvm_region_t *region); /* shallow: shares data_dev */
void rvm_free_region(rvm_region_t *region);

rvm_return_t rvm_initialize(const char *version, rvm_options_t *opts);
#define RVM_INIT(options) rvm_initialize(RVM_VERSION, (options))
rvm_return_t rvm_terminate(void);
rvm_return_t rvm_map(rvm_region_t *region, rvm_options_t *options);
rvm_return_t rvm_unmap(rvm_region_t *region);
rvm_return_t rvm_set_options(rvm_options_t *options);
rvm_return_t rvm_query(rvm_options_t *options, rvm_region_t *region);
rvm_return_t rvm_begin_transaction(rvm_tid_t *tid, rvm_mode_t mode);
rvm_return_t rvm_set_range(rvm_tid_t *tid, void *dest, rvm_length_t length);
rvm_return_t rvm_modify_bytes(rvm_tid_t *tid, void *dest, const void *src, rvm_length_t length);
rvm_return_t rvm_abort_transaction(rvm_tid_t *tid);
rvm_return_t rvm_end_transaction(rvm_tid_t *tid, rvm_mode_t mode);
rvm_return_t rvm_flush(void);
rvm_return_t rvm_truncate(void);
rvm_return_t rvm_create_log(rvm_options_t *rvm_options, rvm_offset_t *log_len, long mode);

/* Functions behind the offset and page macros. */
rvm_offset_t rvm_mk_offset(rvm_length_t x, rvm_length_t y);
rvm_offset_t rvm_add_offsets(rvm_offset_t *x, rvm_offset_t *y);
rvm_offset_t rvm_add_length_to_offset(rvm_offset_t *offset, rvm_length_t length);
rvm_offset_t rvm_sub_offsets(rvm_offset_t *x, rvm_offset_t *y);
rvm_offset_t rvm_sub_length_from_offset(rvm_offset_t *offset, rvm_length_t length);
rvm_length_t rvm_page_size(void);
rvm_length_t rvm_page_mask(void);
rvm_offset_t rvm_rnd_offset_up_to_page(rvm_offset_t *x);
rvm_offset_t rvm_rnd_offset_dn_to_page(rvm_offset_t *x);

#ifdef __cplusplus
}
#endif

#endif /* RVM_VERSION */
