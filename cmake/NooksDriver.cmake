# SPDX-License-Identifier: MIT
# nooks_add_driver(NAME SOURCES...): builds a driver as a shared object named NAME.so
# in lib/nooks/drivers. A driver sees only the public headers (include/nooks, include/hw)
# and resolves the kernel API at load time: from the kernel process in native mode,
# from the domain runtime under isolation. Same file, every mode.
function(nooks_add_driver name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${NOOKS_DRIVER_OUTPUT_DIRECTORY}
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/include)
  target_compile_options(${name} PRIVATE -O2 -g -Wall -Wextra -Wno-unused-parameter -fno-omit-frame-pointer)
endfunction()
