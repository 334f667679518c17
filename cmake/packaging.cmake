# packaging.cmake - install rules for the three programs, libphcluster and a
# .deb (CPack).
#
# Included at the end of the top-level CMakeLists.txt, after every target
# exists.  Units, config, man pages: deploy/CMakeLists.txt.
#
#   cmake --install BUILD --prefix /opt/phcluster
#   cmake --install BUILD --prefix P --component lib   # libphcluster alone
#   cd BUILD && cpack -G DEB        # -> phcluster_VERSION_ARCH.deb

foreach(prog phcoord phworker phclient)
  install(TARGETS ${prog} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endforeach()

# libphcluster: header, shared and static libraries, pkg-config file and a
# CMake package (find_package(phcluster) -> phcluster::phcluster), in the
# component "lib" (cmake --install BUILD --component lib: the library alone).
install(TARGETS phcluster phcluster_static EXPORT phclusterTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib)
install(FILES ${PROJECT_SOURCE_DIR}/lib/include/phcluster.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT lib)
install(EXPORT phclusterTargets NAMESPACE phcluster::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/phcluster COMPONENT lib)
include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/phclusterConfig.cmake.in
  ${PROJECT_BINARY_DIR}/phclusterConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/phcluster)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/phclusterConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/phclusterConfig.cmake
              ${PROJECT_BINARY_DIR}/phclusterConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/phcluster COMPONENT lib)
# The .pc names the prefix given at install time (cmake --install --prefix).
install(CODE "
  set(PH_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_LIBDIR ${CMAKE_INSTALL_LIBDIR})
  set(CMAKE_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
  set(PROJECT_VERSION ${PROJECT_VERSION})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/phcluster.pc.in
                 \"${PROJECT_BINARY_DIR}/phcluster.pc.install\" @ONLY)
  file(INSTALL \"${PROJECT_BINARY_DIR}/phcluster.pc.install\"
       DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\"
       RENAME phcluster.pc)
" COMPONENT lib)

set(CPACK_PACKAGE_NAME phcluster)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "phcluster")
set(CPACK_PACKAGE_CONTACT "phcluster maintainers <phcluster@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "order-preserving minimal perfect hash tables, built on a cluster")
set(CPACK_PACKAGE_DESCRIPTION
    "phcluster builds CHM minimal perfect hash tables for sets of 32- and 64-bit keys: phcoord (coordinator), phworker (one per NUMA node), phclient, and libphcluster (phcluster.h, shared and static, pkg-config and CMake package files) to build, save and load tables at run time. Includes systemd units.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime libraries of Debian 12 (bookworm) behind the -dev packages we build
# with; scripts/deb-test.sh checks every NEEDED library of every binary is
# covered by this list.
set(_deps "libc6 (>= 2.34)" "libzmq5 (>= 4.3)" "libmsgpackc2 (>= 4.0)" "libhwloc15 (>= 2.9)")
if(URING_FOUND)
  list(APPEND _deps "liburing2 (>= 2.3)")
endif()
list(JOIN _deps ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "hwloc")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Binaries are stripped in the package; the build tree keeps symbols.
set(CPACK_STRIP_FILES ON)
# libphcluster.so.0: a shlibs file and the ldconfig trigger.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
include(CPack)
