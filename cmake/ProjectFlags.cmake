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
