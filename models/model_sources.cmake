# The model half of racesgd::models (the data half lists its files in data_sources.cmake).
# Eigen-heavy code is kept to two translation units (logistic; mlp = softmax + MLP) with
# explicit float/double instantiations, because Eigen compiles slowly.
list(APPEND RACESGD_MODEL_SOURCES logistic.cc mlp.cc model_registry.cc)

# GCC 12 reports -W(maybe-)uninitialized inside its own avx512fintrin.h once Eigen's GEMM
# kernels are inlined (the deliberately undefined __Y of the _mm512_undefined_* idiom): a
# false positive that would bury real warnings. Silenced for these files only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  set_source_files_properties(logistic.cc mlp.cc PROPERTIES
    COMPILE_OPTIONS "-Wno-maybe-uninitialized;-Wno-uninitialized")
endif()
