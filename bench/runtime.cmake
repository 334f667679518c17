# bench/runtime.cmake - the runtime helper's benchmarks.  Included from
# bench/CMakeLists.txt with:  include(${CMAKE_CURRENT_LIST_DIR}/runtime.cmake)
add_executable(bench_port ${CMAKE_CURRENT_LIST_DIR}/bench_port.c)
target_link_libraries(bench_port PRIVATE ph_port ph_common)

# bench_inproc needs the solver's keys loader and ph_solve; --out also needs
# the emitter, and the solver's executor hook is used once ph_solve_opts has it.
if(TARGET ph_solver AND EXISTS ${PROJECT_SOURCE_DIR}/solver/keys.c)
  add_executable(bench_inproc ${CMAKE_CURRENT_LIST_DIR}/bench_inproc.c)
  target_link_libraries(bench_inproc PRIVATE ph_runtime ph_solver ph_common)
  if(EXISTS ${PROJECT_SOURCE_DIR}/solver/ph_emit.c)
    target_compile_definitions(bench_inproc PRIVATE PH_BENCH_HAVE_EMIT=1)
  endif()
  file(READ ${PROJECT_SOURCE_DIR}/solver/ph_solver.h _ph_solver_h)
  if(_ph_solver_h MATCHES "exec_post")
    target_compile_definitions(bench_inproc PRIVATE PH_BENCH_EXEC_HOOK=1)
  endif()
endif()
