// ExtentMap now lives in the shim (shim/extent_map.h), beside the LogApplier
// that truncation and recovery use; transaction coalescing uses it here.
#pragma once

#include "shim/extent_map.h"

namespace rvmr::compat {

using log::ExtentMap;

}  // namespace rvmr::compat
