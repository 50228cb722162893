# Run by cpack (CPACK_POST_BUILD_SCRIPTS, set in cmake/Packaging.cmake) after
# it has made the .deb files (CPACK_PACKAGE_FILES). CPack's DEB generator
# adds a postinst and a postrm that only call ldconfig to every package with
# libraries in /usr/lib; librvm1 refreshes the cache with libc's ldconfig
# trigger instead (packaging/debian/librvm1/triggers), which is what Debian
# asks for. Each package that has the trigger is rebuilt without those two
# scripts (dpkg-deb -R, then -b; the other control files and the data are
# kept as they are).

find_program(RVM_DPKG_DEB dpkg-deb REQUIRED)

# rvm_only_ldconfig(<script> <out>): <out> is TRUE when <script> is CPack's
# generated one: nothing but `ldconfig` under an `if`.
function(rvm_only_ldconfig script out)
  file(STRINGS "${script}" lines)
  set(only TRUE)
  foreach(line IN LISTS lines)
    string(STRIP "${line}" line)
    if(NOT line STREQUAL "" AND NOT line MATCHES "^(#!/bin/sh|set -e|ldconfig|fi|if \\[ \"\\$1\" = \"(configure|remove)\" \\]; then)$")
      set(only FALSE)
    endif()
  endforeach()
  set(${out} ${only} PARENT_SCOPE)
endfunction()

foreach(deb IN LISTS CPACK_PACKAGE_FILES)
  if(NOT deb MATCHES "\\.deb$")
    continue()
  endif()
  set(dir "${deb}.d")
  file(REMOVE_RECURSE "${dir}")
  execute_process(COMMAND ${RVM_DPKG_DEB} -R "${deb}" "${dir}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dpkg-deb -R ${deb} failed")
  endif()
  set(changed FALSE)
  if(EXISTS "${dir}/DEBIAN/triggers")
    file(STRINGS "${dir}/DEBIAN/triggers" triggers REGEX "^activate-noawait ldconfig$")
    if(triggers)
      foreach(script postinst postrm)
        if(EXISTS "${dir}/DEBIAN/${script}")
          rvm_only_ldconfig("${dir}/DEBIAN/${script}" only)
          if(only)
            file(REMOVE "${dir}/DEBIAN/${script}")
            set(changed TRUE)
          endif()
        endif()
      endforeach()
    endif()
  endif()
  if(changed)
    execute_process(COMMAND ${RVM_DPKG_DEB} --root-owner-group -Z${CPACK_DEBIAN_COMPRESSION_TYPE}
                            -b "${dir}" "${deb}"
                    OUTPUT_QUIET RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "dpkg-deb -b ${deb} failed")
    endif()
  endif()
  file(REMOVE_RECURSE "${dir}")
endforeach()
