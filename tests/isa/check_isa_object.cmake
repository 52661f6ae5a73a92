# Checks the objects that softlab_isa_objects (cmake/SoftlabIsa.cmake) compiled once per
# instruction set. Two ways a multi-ISA binary breaks on a CPU with fewer features:
#  1. an instruction encoding the ISA may not contain: a VEX instruction (AVX) in the baseline
#     object, or an EVEX one (AVX-512: zmm, mask registers, xmm16-31) in the AVX2 object, would
#     fault with SIGILL on a CPU the dispatcher sent there because it lacks those features;
#  2. an inline function or template that two objects both define (same mangled name) is one
#     COMDAT symbol after linking, and the linker may keep the wider ISA's copy for the baseline
#     path. So every code symbol a non-baseline object defines must be specific to it: its name
#     carries the ISA (the xsimd arch type, or the ISA's namespace).
# The encoding is read from the first opcode byte, not guessed from mnemonics: in 64-bit mode
# 0xC4/0xC5 always begin a VEX prefix and 0x62 an EVEX prefix (LES, LDS and BOUND are invalid
# there), after any segment or address-size prefix.
#   cmake -DBASELINE=sse2 "-DOBJECTS=<isa>=<encodings>=<object>|<object>^..." -P check_isa_object.cmake
# where <encodings> is a comma-separated subset of legacy, vex, evex.
cmake_minimum_required(VERSION 3.25)  # if(IN_LIST)
find_program(OBJDUMP objdump REQUIRED)
find_program(NM nm REQUIRED)

string(REPLACE "^" ";" entries "${OBJECTS}")
foreach(entry IN LISTS entries)
  if(NOT entry MATCHES "^([a-z0-9]+)=([a-z,]+)=(.+)$")
    message(FATAL_ERROR "check_isa_object: malformed entry '${entry}'")
  endif()
  set(isa "${CMAKE_MATCH_1}")
  string(REPLACE "," ";" allowed "${CMAKE_MATCH_2}")
  string(REPLACE "|" ";" objects "${CMAKE_MATCH_3}")
  foreach(object IN LISTS objects)
    execute_process(COMMAND ${OBJDUMP} -d ${object} OUTPUT_VARIABLE listing RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "objdump failed on ${object}")
    endif()
    # One match per instruction: its address, then its bytes (the first line of them).
    string(REGEX MATCHALL "\n *[0-9a-f]+:\t[0-9a-f][0-9a-f][ 0-9a-f]*\t[^\n]*" lines "${listing}")
    list(LENGTH lines total)
    if(total EQUAL 0)
      message(FATAL_ERROR "${object}: no instructions disassembled")
    endif()
    set(found_vex "")
    set(found_evex "")
    set(vex_count 0)
    set(evex_count 0)
    foreach(line IN LISTS lines)
      # Skip segment-override and address-size prefixes, then classify by the opcode byte.
      if(line MATCHES ":\t((26|2e|36|3e|64|65|67) )*(c4|c5|62) ")
        if(CMAKE_MATCH_3 STREQUAL "62")
          if(NOT found_evex)
            set(found_evex "${line}")
          endif()
          math(EXPR evex_count "${evex_count}+1")
        else()
          if(NOT found_vex)
            set(found_vex "${line}")
          endif()
          math(EXPR vex_count "${vex_count}+1")
        endif()
      endif()
    endforeach()
    if(found_vex AND NOT "vex" IN_LIST allowed)
      message(FATAL_ERROR "${object} (${isa}): ${vex_count} VEX-encoded instructions, first:${found_vex}")
    endif()
    if(found_evex AND NOT "evex" IN_LIST allowed)
      message(FATAL_ERROR "${object} (${isa}): ${evex_count} EVEX-encoded instructions, first:${found_evex}")
    endif()
    message(STATUS "${object} (${isa}): ${total} instructions, encodings within {${allowed}}")

    if(NOT isa STREQUAL BASELINE)
      execute_process(COMMAND ${NM} -C --defined-only ${object} OUTPUT_VARIABLE symbols)
      string(REGEX MATCHALL "[0-9a-f]+ [TWVuRrDdBb] [^\n]*" defined "${symbols}")
      set(shared "")
      foreach(line IN LISTS defined)
        if(line MATCHES " [TW] " AND NOT line MATCHES "${isa}")
          list(APPEND shared "${line}")
        endif()
      endforeach()
      if(shared)
        message(FATAL_ERROR "${object}: code symbols not specific to ${isa}: ${shared}")
      endif()
      message(STATUS "${object}: every code symbol is specific to ${isa}")
    endif()
  endforeach()
endforeach()
