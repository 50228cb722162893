// The remote log client used by the shim: MirrorSet appends the writer's log
// stream to N mirrors (remote log servers) in parallel and reports an append
// durable once W of them (default: all) have acknowledged it in memory.
#pragma once

#include "remote_log/mirror_set.h"
#include "remote_log/transport.h"
