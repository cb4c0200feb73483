// All dataset loaders in one include: IDX (idx.h), LIBSVM (libsvm.h), CSV (csv.h). The
// data-source resolution that picks among them from CLI flags is data_source.h.
#pragma once

#include "models/csv.h"
#include "models/idx.h"
#include "models/libsvm.h"
