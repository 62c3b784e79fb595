# ACTLENS_SANITIZE=ON builds everything with AddressSanitizer + UndefinedBehaviorSanitizer
# (the `asan` preset). Tests then abort on the first report.
option(ACTLENS_SANITIZE "Build with AddressSanitizer and UBSan" OFF)
if(ACTLENS_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
