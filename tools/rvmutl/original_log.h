// rvmutl's view of a log of the ORIGINAL RVM (Coda's): the commands that
// make sense on such a log (status, seg_dict, show, recover) print and apply
// it through tools/coda_log (docs/coda-log-format.md, docs/migration.md).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "coda_log/coda_log.h"
#include "coda_log/coda_log_apply.h"

namespace rvmr::rvmutl {

// The log's status block and what the walk of its records found.
void PrintOriginalStatus(FILE* out, const coda::CodaLog& log);
// Records [from, to) of records(), one block each (ranges listed).
void PrintOriginalRecords(FILE* out, const coda::CodaLog& log, size_t from, size_t to);
// The segment dictionary records.
void PrintOriginalSegments(FILE* out, const coda::CodaLog& log);

// Applies the log's committed transactions to its data segments and marks
// the log applied (coda::ApplyLog), saying what it did on stdout and why it
// failed on stderr; then reopens the log into *log. False on failure (the
// log is left as it was if nothing was written).
bool RecoverOriginalLog(std::unique_ptr<coda::CodaLog>* log, const coda::ApplyOptions& options);

}  // namespace rvmr::rvmutl
