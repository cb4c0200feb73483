# The data half of racesgd::models: loaders, transforms, data-source resolution.
# (minibatch.h is header-only.) Included by models/CMakeLists.txt.
list(APPEND RACESGD_DATA_SOURCES
  detail/read_file.cc detail/text_labels.cc label_map.cc idx.cc libsvm.cc csv.cc transforms.cc
  data_source.cc)
# Where `--data mnist` looks by default: the repository's data/ (scripts/setup.sh fills it).
set_source_files_properties(data_source.cc PROPERTIES
  COMPILE_DEFINITIONS "RACESGD_DEFAULT_DATA_DIR=\"${PROJECT_SOURCE_DIR}/data\"")
