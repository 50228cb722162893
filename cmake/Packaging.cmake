# Debian packages of the tree, built by CPack's DEB generator from the install
# components (docs/packaging.md):
#
#   component  package      what
#   libs       librvm1      lib*.so.1 under every name, librvmshim-preload.so
#   dev        librvm-dev   headers, lib*.so links, rvm.pc, rvmlwp.pc, rvmConfig*.cmake, rvm(3)
#   tools      rvm-tools    rvmutl, rdsinit, rvm-log, rvm-preload-restore and their pages
#   logd       rvm-logd     the daemon, its page, its systemd unit and /etc/rvm/rvm-logd.conf
#   bench      (none)       rvm-commit-bench: `cmake --install` only, never packaged
#
# Every install() in the tree names one of these components; tests/packaging
# fails when an installed file is in no package. Build the packages with
# `cpack --config build/CPackConfig.cmake -B OUTDIR` after building the tree.

set(RVM_PACKAGE_MAINTAINER "rvm-remote maintainers <maintainers@users.noreply.h-seed-2da34415.example>"
    CACHE STRING "Maintainer field of the Debian packages")
set(RVM_DEBIAN_REVISION 1 CACHE STRING "Debian revision of the packages (version ${PROJECT_VERSION}-N)")
set(RVM_DEBIAN_DIR ${PROJECT_SOURCE_DIR}/packaging/debian)

# rvm-logd's systemd unit and default configuration, found in the first of
# these places that has them, as FILE or FILE.in. remote_log/service/ is the
# daemon module's own: its CMakeLists.txt installs them (with COMPONENT logd),
# and only the maintainer scripts and conffiles below depend on them. From the
# other places they are installed here (component logd; FILE.in configured
# with @VAR@ substitution). The config lands in /etc/rvm in the package
# (PREFIX/etc/rvm for a plain `cmake --install`) and is a conffile.
function(rvm_find_packaged_file out name)
  set(found "")
  foreach(dir remote_log/service packaging/rvm-logd packaging remote_log/systemd systemd etc)
    foreach(candidate ${name} ${name}.in)
      if(NOT found AND EXISTS ${PROJECT_SOURCE_DIR}/${dir}/${candidate})
        set(found ${PROJECT_SOURCE_DIR}/${dir}/${candidate})
      endif()
    endforeach()
  endforeach()
  if(found MATCHES "/remote_log/service/")
    set(${out} "${found}" PARENT_SCOPE)
    set(${out}_BY_MODULE TRUE PARENT_SCOPE)
    return()
  endif()
  if(found MATCHES "\\.in$")
    configure_file(${found} ${CMAKE_BINARY_DIR}/packaging/${name} @ONLY)
    set(found ${CMAKE_BINARY_DIR}/packaging/${name})
  endif()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()
rvm_find_packaged_file(RVM_LOGD_UNIT rvm-logd.service)
rvm_find_packaged_file(RVM_LOGD_CONF rvm-logd.conf)
if(RVM_LOGD_UNIT AND NOT RVM_LOGD_UNIT_BY_MODULE)
  install(FILES ${RVM_LOGD_UNIT} DESTINATION lib/systemd/system COMPONENT logd)
endif()
if(RVM_LOGD_CONF AND NOT RVM_LOGD_CONF_BY_MODULE)
  install(FILES ${RVM_LOGD_CONF} DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/rvm COMPONENT logd)
endif()

# Maintainer scripts of rvm-logd: the system user always; the systemd part
# (what dh_installsystemd would add) only when the unit is packaged.
set(RVM_LOGD_POSTINST_SYSTEMD "")
set(RVM_LOGD_PRERM_SYSTEMD "")
set(RVM_LOGD_POSTRM_SYSTEMD "")
if(RVM_LOGD_UNIT)
  foreach(script postinst prerm postrm)
    string(TOUPPER ${script} upper)
    file(READ ${RVM_DEBIAN_DIR}/rvm-logd.${script}.systemd RVM_LOGD_${upper}_SYSTEMD)
  endforeach()
endif()
set(_logd_control)
set(_logd_scripts postinst)
if(RVM_LOGD_UNIT)
  list(APPEND _logd_scripts prerm postrm)
endif()
foreach(script ${_logd_scripts})
  configure_file(${RVM_DEBIAN_DIR}/rvm-logd.${script}.in
                 ${CMAKE_BINARY_DIR}/packaging/rvm-logd/${script} @ONLY)
  list(APPEND _logd_control ${CMAKE_BINARY_DIR}/packaging/rvm-logd/${script})
endforeach()
if(RVM_LOGD_CONF)
  file(WRITE ${CMAKE_BINARY_DIR}/packaging/rvm-logd/conffiles "/etc/rvm/rvm-logd.conf\n")
  list(APPEND _logd_control ${CMAKE_BINARY_DIR}/packaging/rvm-logd/conffiles)
else()
  file(REMOVE ${CMAKE_BINARY_DIR}/packaging/rvm-logd/conffiles)
endif()

# The changelog entry of this version (gzipped into each package at staging).
set(RVM_DEBIAN_VERSION ${PROJECT_VERSION}-${RVM_DEBIAN_REVISION})
string(TIMESTAMP RVM_DEBIAN_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${RVM_DEBIAN_DIR}/changelog.in ${CMAKE_BINARY_DIR}/packaging/changelog.Debian @ONLY)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rvm-remote)
set(CPACK_PACKAGE_VENDOR "rvm-remote")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${RVM_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL libs dev tools logd)
set(CPACK_COMPONENT_DEV_DEPENDS libs)
set(CPACK_COMPONENT_TOOLS_DEPENDS libs)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${RVM_DEBIAN_REVISION})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${RVM_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SOURCE rvm-remote)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dpkg-shlibdeps finds this tree's own libraries (which rvm-tools' programs
# link) in the build tree; their dependency is librvm1 (= version), from the
# component dependencies below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/rvm_compat
    ${CMAKE_BINARY_DIR}/rvm_compat/seg ${CMAKE_BINARY_DIR}/rvm_compat/rds)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_LIBS_PACKAGE_NAME librvm1)
set(CPACK_DEBIAN_LIBS_PACKAGE_SECTION libs)
# shlibs for every package with shared libraries: only librvm1 has them.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_LIBS_PACKAGE_CONTROL_EXTRA ${RVM_DEBIAN_DIR}/librvm1/triggers)
set(CPACK_DEBIAN_LIBS_DESCRIPTION
"Recoverable Virtual Memory with remote-memory logging - libraries
A drop-in replacement for Coda's RVM (librvm, libseg, librds) in which
every synchronous log write becomes a synchronous append to the memory of
one or more remote log servers (rvm-logd), plus a background disk write
submitted with io_uring. Programs built for Coda's RVM run unchanged.

This package contains the shared libraries under every name the original's
builds link (librvm, librvmpt, librvmlwp, libseg, libsegpt, libseglwp,
librds, librdspt, librdslwp) and librvmshim-preload.so, which gives
unmodified programs that force a write-ahead log to disk (SQLite, Berkeley
DB) the same commit path through LD_PRELOAD.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME librvm-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_DESCRIPTION
"Recoverable Virtual Memory with remote-memory logging - development files
A drop-in replacement for Coda's RVM (librvm, libseg, librds) in which
every synchronous log write becomes a synchronous append to the memory of
one or more remote log servers (rvm-logd), plus a background disk write
submitted with io_uring.

This package contains the headers <rvm/*.h>, the development links of
every library name, pkg-config files (rvm, rvmlwp), the CMake package
configuration (find_package(rvm) gives rvm::rvm, rvm::seg and rvm::rds)
and the rvm(3) manual page.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME rvm-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION
"Recoverable Virtual Memory with remote-memory logging - tools
Administration tools for the RVM libraries of librvm1, whose synchronous
log writes go to the memory of remote log servers (rvm-logd) and, in the
background, to the local disk:
 - rvmutl: Coda's RVM log utility;
 - rdsinit: creates a data segment with an RDS heap;
 - rvm-log: inspects, verifies, compares and replays logs, from the local
   disk or from the log servers;
 - rvm-preload-restore: rebuilds the lost tail of a log protected by the
   LD_PRELOAD shim from the log servers.")

set(CPACK_DEBIAN_LOGD_PACKAGE_NAME rvm-logd)
set(CPACK_DEBIAN_LOGD_PACKAGE_SECTION net)
# adduser: the postinst creates the system user rvm-logd.
set(CPACK_DEBIAN_LOGD_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_LOGD_PACKAGE_CONTROL_EXTRA ${_logd_control})
set(CPACK_DEBIAN_LOGD_DESCRIPTION
"remote memory log server for Recoverable Virtual Memory
rvm-logd lends its memory to RVM writers in remote mode (librvm1 with
RVM_MIRRORS set, or the LD_PRELOAD shim): a writer's flush commit returns
once its mirrors hold the log record, while the writer's disk copy is
written in the background; the writer trims what its disk has made
durable. Logs are fenced by the writer's epoch and connections are
authenticated with a shared secret (HMAC challenge-response) off loopback.
Transports: TCP, and RDMA through rdma-core.")

# Staging (cmake/PackagingStage.cmake, after the install into the staging
# tree, before the .deb is made): copyright and changelog.Debian.gz in each
# package's doc directory, man pages gzipped, PREFIX/etc moved to /etc.
set(CPACK_RVM_DEBIAN_DIR ${RVM_DEBIAN_DIR})
set(CPACK_RVM_CHANGELOG ${CMAKE_BINARY_DIR}/packaging/changelog.Debian)
set(CPACK_RVM_BUILD_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/PackagingStage.cmake)
# After: librvm1 without CPack's ldconfig-only postinst/postrm (its trigger
# does that), cmake/PackagingFinish.cmake.
set(CPACK_POST_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/PackagingFinish.cmake)

include(CPack)
