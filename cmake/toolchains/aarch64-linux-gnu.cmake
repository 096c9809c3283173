# Cross build for 64-bit ARM Linux with Debian's GNU cross compiler
# (g++-aarch64-linux-gnu) and the arm64 -dev packages installed under multiarch
# (dpkg --add-architecture arm64; scripts/install_arm64_deps.sh). The binaries
# target baseline armv8-a: the dot-product and i8mm kernels are compiled per file
# with their own -march and chosen at run time (kernels/common/cpu.cc).
# CTest runs every test binary through qemu-user (`-cpu max`: a core with every
# extension the kernels use, so all variants execute).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(DYAD_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${DYAD_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${DYAD_CROSS_TRIPLE}-g++)

# Debian's multiarch layout: arm64 libraries in /usr/lib/aarch64-linux-gnu,
# headers shared in /usr/include, the target's C library in /usr/aarch64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH /usr/${DYAD_CROSS_TRIPLE})
set(CMAKE_LIBRARY_ARCHITECTURE ${DYAD_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# pkg-config must read the arm64 .pc files, not the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${DYAD_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)

# `-L /`: the arm64 loader and libraries at run time are the multiarch
# packages' (libc6:arm64, libstdc++6:arm64, zlib1g:arm64 ... in
# /lib/aarch64-linux-gnu), not the cross toolchain's copy in
# /usr/aarch64-linux-gnu. The two glibc packages can differ in version
# (libc6-arm64-cross lags the security updates of libc6:arm64), and a loader
# of one with the libc of the other -- what `-L /usr/aarch64-linux-gnu` gives
# once libc6:arm64 is installed -- hangs in the first pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-cpu;max;-L;/)
