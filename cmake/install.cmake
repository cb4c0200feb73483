# The installed package (docs/library.md):
#   PREFIX/bin/racesgd
#   PREFIX/share/racesgd/plot/*.py                       the plot scripts racesgd runs (bench/plot_script.h)
#   PREFIX/lib/libracesgd_<layer>.a                      one static library per layer
#   PREFIX/include/racesgd/<layer>/*.h                   the include root is include/racesgd,
#                                                        so "sgd/variant.h" reads as in the repo
#   PREFIX/lib/cmake/racesgd/racesgd-config.cmake        find_package(racesgd 0.2)
#   PREFIX/lib/cmake/racesgd/racesgd-config-version.cmake
#   PREFIX/lib/cmake/racesgd/racesgd-targets.cmake       racesgd::core ... racesgd::bench, racesgd::cli
# Include from the layers' own folder structure rather than a racesgd/ prefix in every
# #include: the code and its users then write the same include lines, and no header moves.
include(CMakePackageConfigHelpers)

set(RACESGD_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/racesgd)

# Every layer that was built (mpi only where MPI was found), plus the two interface targets
# they link: options (code generation: -march=native, EIGEN_DONT_PARALLELIZE) is PUBLIC,
# so a user's code is compiled for the same CPU and Eigen alignment as the libraries;
# warnings is PRIVATE, exported only because a static library's private links are recorded.
set(RACESGD_EXPORTED_TARGETS racesgd_options racesgd_warnings)
set_target_properties(racesgd_options PROPERTIES EXPORT_NAME options)
set_target_properties(racesgd_warnings PROPERTIES EXPORT_NAME warnings)
set(RACESGD_EXPORTED_LAYERS "")
foreach(layer core models delay sgd ps worker runtime mpi bench)
  if(TARGET racesgd_${layer})
    set_target_properties(racesgd_${layer} PROPERTIES EXPORT_NAME ${layer})
    list(APPEND RACESGD_EXPORTED_TARGETS racesgd_${layer})
    list(APPEND RACESGD_EXPORTED_LAYERS ${layer})
    # Headers only; bench/micro holds benchmarks, not API.
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/racesgd/${layer}
            FILES_MATCHING PATTERN "*.h" PATTERN "micro" EXCLUDE)
  endif()
endforeach()

# The command line as a library (bench/cli.h): a user's main() with its own plug-ins.
set_target_properties(racesgd_cli PROPERTIES EXPORT_NAME cli)
list(APPEND RACESGD_EXPORTED_TARGETS racesgd_cli)

install(TARGETS ${RACESGD_EXPORTED_TARGETS} EXPORT racesgd-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS racesgd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The plot scripts and the module they share: race, fit --plot and advise run them from here
# when racesgd is installed, and a user can run plot_study.py / plot_theory.py on saved runs.
install(FILES ${PROJECT_SOURCE_DIR}/bench/curve_plot.py ${PROJECT_SOURCE_DIR}/bench/plot_advise.py
              ${PROJECT_SOURCE_DIR}/bench/plot_fit.py ${PROJECT_SOURCE_DIR}/bench/plot_race.py
              ${PROJECT_SOURCE_DIR}/bench/plot_study.py ${PROJECT_SOURCE_DIR}/bench/plot_theory.py
        DESTINATION ${CMAKE_INSTALL_DATADIR}/racesgd/plot)
install(EXPORT racesgd-targets NAMESPACE racesgd:: DESTINATION ${RACESGD_INSTALL_CMAKEDIR})

# SameMinorVersion: before 1.0 a minor release may change the API (semantic versioning's
# 0.y rule), so find_package(racesgd 0.2) accepts 0.2.x only, not 0.3.
set(RACESGD_WITH_MPI OFF)
if(TARGET racesgd_mpi)
  set(RACESGD_WITH_MPI ON)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/racesgd-config.cmake.in
                              ${PROJECT_BINARY_DIR}/racesgd-config.cmake
                              INSTALL_DESTINATION ${RACESGD_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/racesgd-config-version.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/racesgd-config.cmake
              ${PROJECT_BINARY_DIR}/racesgd-config-version.cmake
        DESTINATION ${RACESGD_INSTALL_CMAKEDIR})
