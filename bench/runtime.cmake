# bench/runtime.cmake - the runtime helper's benchmarks.  Included from
# bench/CMakeLists.txt with:  include(${CMAKE_CURRENT_LIST_DIR}/runtime.cmake)
add_executable(bench_port ${CMAKE_CURRENT_LIST_DIR}/bench_port.c)
target_link_libraries(bench_port PRIVATE ph_port ph_common)

# bench_inproc needs the solver's keys loader and ph_solve (solver/ph_solve.c).
if(TARGET ph_solver AND EXISTS ${PROJECT_SOURCE_DIR}/solver/keys.c
   AND EXISTS ${PROJECT_SOURCE_DIR}/solver/ph_solve.c)
  add_executable(bench_inproc ${CMAKE_CURRENT_LIST_DIR}/bench_inproc.c)
  target_link_libraries(bench_inproc PRIVATE ph_runtime ph_solver ph_common)
endif()
