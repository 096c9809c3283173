/* libdyad.so is built from the dyad_engine archive linked whole; CMake needs
   at least one source file of its own for the shared library target. */
typedef int dyad_shared_library_anchor;
