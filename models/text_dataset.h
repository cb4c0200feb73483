// What the text loaders (LIBSVM, CSV) return: the dataset and the label map it was read
// with, so that a test file can be read with its training file's map.
#pragma once

#include "models/dataset.h"
#include "models/label_map.h"

namespace racesgd {

struct TextDataset {
  Dataset data;
  LabelMap labels;  // class c of data.y is the label value labels.values()[c]
};

}  // namespace racesgd
