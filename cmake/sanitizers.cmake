# RACESGD_SANITIZE=thread|address: instrument every target (used by the tsan/asan presets).
if(RACESGD_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=thread)
elseif(RACESGD_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -g)
  add_link_options(-fsanitize=address,undefined)
elseif(NOT RACESGD_SANITIZE STREQUAL "")
  message(FATAL_ERROR "RACESGD_SANITIZE must be '', 'thread' or 'address', got '${RACESGD_SANITIZE}'")
endif()
