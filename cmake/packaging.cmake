# packaging.cmake - install rules for the three programs and a .deb (CPack).
#
# Included at the end of the top-level CMakeLists.txt, after every target
# exists.  Units, config, man pages: deploy/CMakeLists.txt.
#
#   cmake --install BUILD --prefix /opt/phcluster
#   cd BUILD && cpack -G DEB        # -> phcluster_VERSION_ARCH.deb

foreach(prog phcoord phworker phclient)
  install(TARGETS ${prog} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endforeach()

set(CPACK_PACKAGE_NAME phcluster)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "phcluster")
set(CPACK_PACKAGE_CONTACT "phcluster maintainers <phcluster@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "order-preserving minimal perfect hash tables, built on a cluster")
set(CPACK_PACKAGE_DESCRIPTION
    "phcluster builds CHM minimal perfect hash tables for sets of 32-bit keys: phcoord (coordinator), phworker (one per NUMA node), phclient. Includes systemd units.")
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
include(CPack)
