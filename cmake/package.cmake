# The installable package: libatelier.so, the public headers, a CMake package
# (find_package(Atelier) -> Atelier::atelier), the `atelier` binary, its man
# pages and bash completion, and `cpack -G DEB` (docs/ARCHITECTURE.md,
# "Installing and packaging").
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# `atelier --version` and atelier::version(): the one place is project().
set_source_files_properties(${PROJECT_SOURCE_DIR}/src/util/version.cpp PROPERTIES
  COMPILE_DEFINITIONS "ATELIER_VERSION=\"${PROJECT_VERSION}\"")

# libatelier.so: the library for programs, one shared object made of the
# objects already compiled for the static layers (no second compile): core,
# the torch library with its pipeline, and video. One file to link, and torch,
# FFmpeg and the other OpenCV modules stay private to it, so a program needs
# only OpenCV core and nlohmann-json headers (what the public headers use).
# The studio (HTTP, SQLite) and downloads (TLS) are the tool's, not in it.
add_library(atelier_shared SHARED
  $<TARGET_OBJECTS:atelier_core> $<TARGET_OBJECTS:atelier> $<TARGET_OBJECTS:atelier_video>)
set_target_properties(atelier_shared PROPERTIES
  OUTPUT_NAME atelier EXPORT_NAME atelier LINKER_LANGUAGE CXX
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
target_include_directories(atelier_shared PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(atelier_shared PUBLIC cxx_std_17)
# Every symbol resolved when it is linked, not when a program loads it.
target_link_options(atelier_shared PRIVATE -Wl,--no-undefined)
target_link_libraries(atelier_shared
  PUBLIC opencv_core nlohmann_json::nlohmann_json Threads::Threads
  PRIVATE ${OpenCV_LIBS} ${TORCH_LIBRARIES} ${DNNL_LIBRARY} ZLIB::ZLIB PkgConfig::LIBAV)
# What programs in this tree (examples/) and outside it link by the same name.
add_library(Atelier::atelier ALIAS atelier_shared)

# The public headers a program may include: all but those of the studio,
# downloads and ONNX export, whose code is not in libatelier.
file(GLOB ATELIER_PUBLIC_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/atelier/*.hpp)
list(FILTER ATELIER_PUBLIC_HEADERS EXCLUDE REGEX "/(studio[a-z_]*|style_previews|fetch|onnx_export)\\.hpp$")
install(FILES ${ATELIER_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/atelier)
install(TARGETS atelier_shared EXPORT AtelierTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS atelier_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(ATELIER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Atelier)
install(EXPORT AtelierTargets NAMESPACE Atelier:: DESTINATION ${ATELIER_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/AtelierConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/AtelierConfig.cmake INSTALL_DESTINATION ${ATELIER_CMAKE_DIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/AtelierConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/AtelierConfig.cmake ${PROJECT_BINARY_DIR}/package/AtelierConfigVersion.cmake
  DESTINATION ${ATELIER_CMAKE_DIR})

# Man pages and bash completion, written at install time by the binary being
# installed (`atelier generate-docs`, from its own flags), man pages gzipped
# as Debian has them. Nothing is added to the build.
install(CODE "
  set(root \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  execute_process(COMMAND \"$<TARGET_FILE:atelier_cli>\" generate-docs --quiet
      --man-dir \"\${root}/${CMAKE_INSTALL_MANDIR}/man1\"
      --bash-completion \"\${root}/${CMAKE_INSTALL_DATADIR}/bash-completion/completions/atelier\"
    COMMAND_ERROR_IS_FATAL ANY)
  file(GLOB pages \"\${root}/${CMAKE_INSTALL_MANDIR}/man1/atelier*.1\")
  execute_process(COMMAND gzip -9nf \${pages} COMMAND_ERROR_IS_FATAL ANY)
  message(STATUS \"Installing: man pages and bash completion written by atelier generate-docs\")
")

# cpack -G DEB: the files above under /usr; Depends from the libraries the
# binary and libatelier link (dpkg-shlibdeps). A program built against the
# package also needs the OpenCV and nlohmann-json headers: recommended.
set(CPACK_PACKAGE_NAME atelier)
set(CPACK_PACKAGE_VENDOR "Atelier")
set(CPACK_PACKAGE_CONTACT "Atelier developers <atelier@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Neural style transfer and AI painting: the atelier tool and libatelier")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION graphics)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopencv-dev, nlohmann-json3-dev, cmake")
set(CPACK_PACKAGE_DESCRIPTION
  "Paints photos and videos in the style of artworks (Gatys, feed-forward styles, Magenta and AdaIN), trains styles \
and GANs, and serves a studio in the browser. Also libatelier and its headers for programs: find_package(Atelier) \
gives Atelier::atelier.")
include(CPack)
