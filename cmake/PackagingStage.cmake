# Run by cpack (CPACK_PRE_BUILD_SCRIPTS, set in cmake/Packaging.cmake) after
# it has installed each component into its staging tree
# (CPACK_TEMPORARY_DIRECTORY/<component>/usr/...) and before it makes the
# .deb files: adds what Debian requires of a package that a plain
# `cmake --install` should not get.
#  - usr/share/doc/<package>/copyright (DEP-5) and changelog.Debian.gz;
#  - man pages gzipped with -9n (no name, no time stamp: reproducible);
#  - usr/etc (CMAKE_INSTALL_SYSCONFDIR under the prefix) moved to /etc;
#  - in systemd units, the paths of the build's own prefix (a unit configured
#    with CMAKE_INSTALL_FULL_BINDIR, say /usr/local/bin) made the package's:
#    PREFIX/etc/ -> /etc/, PREFIX/ -> /usr/;
#  - packaging/debian/<package>.lintian-overrides, where one exists.

find_program(RVM_GZIP gzip REQUIRED)

# rvm_gzip(<file> <output>): gzip -9n <file> into <output>.
function(rvm_gzip file output)
  execute_process(COMMAND ${RVM_GZIP} -9n -c ${file} OUTPUT_FILE ${output}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${file} failed (${rc})")
  endif()
endfunction()

foreach(component IN LISTS CPACK_COMPONENTS_ALL)
  string(TOUPPER ${component} upper)
  set(package "${CPACK_DEBIAN_${upper}_PACKAGE_NAME}")
  set(root "${CPACK_TEMPORARY_DIRECTORY}/${component}")
  if(NOT package OR NOT IS_DIRECTORY "${root}")
    message(FATAL_ERROR "packaging: component ${component} has no package name or no "
                        "staging tree ${root}")
  endif()
  set(usr "${root}${CPACK_PACKAGING_INSTALL_PREFIX}")

  if(IS_DIRECTORY "${usr}/etc")
    if(EXISTS "${root}/etc")
      message(FATAL_ERROR "packaging: ${package} installs both ${usr}/etc and ${root}/etc")
    endif()
    file(RENAME "${usr}/etc" "${root}/etc")
  endif()

  set(prefix "${CPACK_RVM_BUILD_PREFIX}")
  if(NOT prefix STREQUAL CPACK_PACKAGING_INSTALL_PREFIX)
    file(GLOB units "${root}/lib/systemd/system/*" "${usr}/lib/systemd/system/*")
    foreach(unit IN LISTS units)
      file(READ "${unit}" text)
      string(REPLACE "${prefix}/etc/" "/etc/" text "${text}")
      string(REPLACE "${prefix}/" "${CPACK_PACKAGING_INSTALL_PREFIX}/" text "${text}")
      file(WRITE "${unit}" "${text}")
    endforeach()
  endif()

  file(GLOB_RECURSE pages LIST_DIRECTORIES false "${usr}/share/man/*")
  foreach(page IN LISTS pages)
    if(NOT page MATCHES "\\.gz$")
      rvm_gzip(${page} ${page}.gz)
      file(REMOVE ${page})
    endif()
  endforeach()

  set(doc "${usr}/share/doc/${package}")
  file(MAKE_DIRECTORY "${doc}")
  file(COPY_FILE "${CPACK_RVM_DEBIAN_DIR}/copyright" "${doc}/copyright")
  rvm_gzip("${CPACK_RVM_CHANGELOG}" "${doc}/changelog.Debian.gz")

  set(overrides "${CPACK_RVM_DEBIAN_DIR}/${package}.lintian-overrides")
  if(EXISTS "${overrides}")
    file(MAKE_DIRECTORY "${usr}/share/lintian/overrides")
    file(COPY_FILE "${overrides}" "${usr}/share/lintian/overrides/${package}")
  endif()
endforeach()
