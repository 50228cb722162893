# Warning and sanitizer flags for project code (never applied to third-party code).

# rvm_project_target(<target>): -Wall -Wextra -Werror and the chosen sanitizers.
function(rvm_project_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()

if(SANITIZE)
  set(_san "-fsanitize=${SANITIZE}")
  if(SANITIZE MATCHES "undefined")
    string(APPEND _san " -fno-sanitize-recover=undefined")
  endif()
  separate_arguments(_san_list UNIX_COMMAND "${_san}")
  add_compile_options(${_san_list} -fno-omit-frame-pointer)
  add_link_options(${_san_list})
  message(STATUS "Sanitizers: ${SANITIZE}")
endif()

# rvm_add_child_directories(): add_subdirectory() for every child directory of
# the current source directory that has a CMakeLists.txt, in name order (how
# tests/, bench/ and tools/ pick up one subdirectory per module).
function(rvm_add_child_directories)
  file(GLOB _children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT _children)
  foreach(child ${_children})
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child}
       AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()
