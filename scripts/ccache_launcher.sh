# Sourced by the build scripts: CCACHE_LAUNCHER holds the CMake arguments that
# compile through ccache where it is installed (cheap rebuilds in fresh clones,
# as CI makes), and nothing where it is not.
CCACHE_LAUNCHER=()
if command -v ccache > /dev/null; then
  CCACHE_LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
