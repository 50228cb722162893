# Every dependency comes from a Debian 12 package; a missing one stops cmake
# with the package to install (scripts/setup installs them all).

find_package(PkgConfig)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' "
                      "(or run scripts/setup)")
endif()

# rvm_require_pkg(<prefix> <pkg-config module> <debian package>)
function(rvm_require_pkg prefix module debpkg)
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${prefix}_FOUND)
    message(FATAL_ERROR "${module} not found: install the Debian package '${debpkg}' "
                        "(apt-get install ${debpkg}, or run scripts/setup)")
  endif()
endfunction()

rvm_require_pkg(URING liburing liburing-dev)
rvm_require_pkg(IBVERBS libibverbs libibverbs-dev)
rvm_require_pkg(RDMACM librdmacm librdmacm-dev)
rvm_require_pkg(LIBCRYPTO libcrypto libssl-dev)
rvm_require_pkg(LIBSYSTEMD libsystemd libsystemd-dev)

find_package(CLI11 CONFIG QUIET)
if(NOT CLI11_FOUND)
  message(FATAL_ERROR "CLI11 not found: install the Debian package 'libcli11-dev' "
                      "(apt-get install libcli11-dev, or run scripts/setup)")
endif()

if(RVM_BUILD_TESTS)
  find_package(Catch2 2 CONFIG QUIET)
  if(NOT Catch2_FOUND)
    message(FATAL_ERROR "Catch2 v2 not found: install the Debian package 'catch2' "
                        "(apt-get install catch2, or run scripts/setup)")
  endif()
  include(Catch)
endif()

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
