# splitstack: build the libraries, the header, the demo; run the tests.
#
#   make            libraries (build/libsplitstack.a, build/libsplitstack.so)
#   make demo       build and run demo/demo.c against the static library
#   make test       every test (the README's test command)
#   make header     regenerate include/splitstack.h with cbindgen
#   make lib-aarch64   cross-built libraries in build/aarch64/
#   make test-aarch64  the aarch64 suite under qemu (needs the cross tools)

CARGO    ?= cargo
CC       ?= gcc
BUILD    := build
RUSTLIB  := target/release/libsplitstack.a
SOURCES  := $(wildcard src/*.rs src/*/*.rs asm/*/*.S asm/*/*.h) Cargo.toml build.rs

.PHONY: all lib demo test header header-check cargo-test c-tests gcc-suite clean lib-aarch64 test-aarch64

all: lib

lib: $(BUILD)/libsplitstack.a $(BUILD)/libsplitstack.so

$(RUSTLIB): $(SOURCES)
	$(CARGO) build --release --quiet

# One relocatable object holding the runtime and exactly the parts of
# core it uses; every symbol but the exported ones is made local, so the
# library never supplies anything else (compiler builtins, core) to a
# program.
$(BUILD)/splitstack.o: $(RUSTLIB) exports.txt
	@mkdir -p $(BUILD)
	ld -r --gc-sections $(addprefix -u ,$(shell cat exports.txt)) -o $(BUILD)/prelink.o $(RUSTLIB)
	objcopy --keep-global-symbols=exports.txt --keep-global-symbol=__real_pthread_create \
	  --remove-section=.llvmbc --remove-section=.llvmcmd --strip-symbol=rust_eh_personality \
	  $(BUILD)/prelink.o $@

# __real_pthread_create for links made without --wrap=pthread_create
# (asm/x86_64/nowrap.S); the linker takes it only then.
$(BUILD)/splitstack_nowrap.o: asm/x86_64/nowrap.S
	@mkdir -p $(BUILD)
	$(CC) -c -o $@ $<

# The static library's copy has __morestack hidden, as libgcc's is.  With
# clang -mcmodel=large, LLVM calls __morestack through a word in .rodata
# (`__morestack_addr: .quad __morestack`); in a PIE that word needs a
# relocation in a read-only section.  lld 14 does not create one for a
# default-visibility function defined in the executable: it takes the
# path meant for functions of shared libraries (a "canonical PLT entry"),
# which for a defined symbol leaves the word holding the link-time
# address, and the program jumps to it on its first split.  For a hidden
# __morestack lld refuses the link instead ("cannot preempt symbol:
# __morestack ... (.rodata+0x0)"), as it does with libgcc's runtime.
# The helper object only adds the visibility (a linker keeps the most
# constraining one); nothing in a program needs __morestack exported.
$(BUILD)/splitstack_static.o: $(BUILD)/splitstack.o
	printf '\t.hidden __morestack\n\t.section .note.GNU-stack,"",@progbits\n' > $(BUILD)/hide_morestack.s
	$(CC) -c -o $(BUILD)/hide_morestack.o $(BUILD)/hide_morestack.s
	ld -r -o $@ $< $(BUILD)/hide_morestack.o

$(BUILD)/libsplitstack.a: $(BUILD)/splitstack_static.o $(BUILD)/splitstack_nowrap.o
	rm -f $@
	ar rcs $@ $^

# The shared library proper.  --wrap binds the wrapper's
# __real_pthread_create to libc's pthread_create; -z now keeps the dynamic
# linker off the __morestack path.
$(BUILD)/libsplitstack.so.0: $(BUILD)/splitstack.o
	$(CC) -shared -o $@ $< -Wl,-z,now -Wl,--wrap=pthread_create -Wl,-soname,libsplitstack.so.0

# What -lsplitstack finds: a linker script adding the program's own
# __morestack and __morestack_non_split stubs (see asm/x86_64/shared_stubs.S:
# without them gold rewrites every split-stack function of the program).
$(BUILD)/libsplitstack_stubs.o: asm/x86_64/shared_stubs.S
	@mkdir -p $(BUILD)
	$(CC) -c -o $@ $<

$(BUILD)/libsplitstack.so: $(BUILD)/libsplitstack.so.0 $(BUILD)/libsplitstack_stubs.o
	printf '/* GNU ld script: the runtime, and the stubs that keep gold from treating\n   __morestack as non-split code (see asm/x86_64/shared_stubs.S). */\nINPUT ( libsplitstack.so.0 libsplitstack_stubs.o )\n' > $@

# ---------------------------------------------------------------------
# aarch64, cross-built: build/aarch64/libsplitstack.{a,so}, the same recipe
# with the aarch64-linux-gnu tools, and Debian's rustc (rustc-web, with the
# arm64 standard library) for the Rust part in its own target directory.
# `make test-aarch64` runs the aarch64 suite under qemu-aarch64 at 4, 16
# and 64 KiB pages (tests/aarch64/run.sh); `make test` runs it too when
# the cross tools are installed (.ci/run installs them).
A64         := $(BUILD)/aarch64
A64_CROSS   ?= aarch64-linux-gnu-
A64_RUSTC   ?= /usr/bin/rustc
A64_TARGET  := aarch64-unknown-linux-gnu
A64_TDIR    := target/aarch64
A64_RUSTLIB := $(A64_TDIR)/$(A64_TARGET)/release/libsplitstack.a
# __morestack_large_model is an x86_64 entry point (-mcmodel=large).
A64_EXPORTS := $(filter-out __morestack_large_model,$(shell cat exports.txt))

lib-aarch64: $(A64)/libsplitstack.a $(A64)/libsplitstack.so

$(A64_RUSTLIB): $(SOURCES)
	RUSTC=$(A64_RUSTC) CARGO_TARGET_DIR=$(A64_TDIR) \
	  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=$(A64_CROSS)gcc \
	  $(CARGO) build --release --quiet --target $(A64_TARGET)

# As for the host, except: the bitcode sections of Debian's standard
# library are dropped first (binutils' LLVM plugin cannot read them and
# says so, loudly), and compiler-rt's __gcc_personality_v0, which Debian's
# aarch64 compiler_builtins carries, is left out so that the program's
# libgcc supplies the personality of __morestack, as on x86_64.
$(A64)/splitstack.o: $(A64_RUSTLIB) exports.txt
	@mkdir -p $(A64)
	printf '%s\n' $(A64_EXPORTS) > $(A64)/exports.txt
	$(A64_CROSS)objcopy --remove-section=.llvmbc --remove-section=.llvmcmd $(A64_RUSTLIB) $(A64)/rust.a
	if $(A64_CROSS)ar t $(A64)/rust.a | grep -qx gcc_personality_v0.c.o; then \
	  $(A64_CROSS)ar d $(A64)/rust.a gcc_personality_v0.c.o; fi
	$(A64_CROSS)ld -r --gc-sections $(addprefix -u ,$(A64_EXPORTS)) -o $(A64)/prelink.o $(A64)/rust.a
	$(A64_CROSS)objcopy --keep-global-symbols=$(A64)/exports.txt --keep-global-symbol=__real_pthread_create \
	  --strip-symbol=rust_eh_personality $(A64)/prelink.o $@

$(A64)/splitstack_nowrap.o: asm/aarch64/nowrap.S
	@mkdir -p $(A64)
	$(A64_CROSS)gcc -c -o $@ $<

$(A64)/libsplitstack.a: $(A64)/splitstack.o $(A64)/splitstack_nowrap.o
	rm -f $@
	$(A64_CROSS)ar rcs $@ $^

# The shared library proper, and what -lsplitstack finds: a linker script
# adding the program's own hidden __morestack/__morestack_non_split stubs
# (asm/aarch64/shared_stubs.S: the contract forbids reaching __morestack
# through a PLT entry).
$(A64)/libsplitstack.so.0: $(A64)/splitstack.o
	$(A64_CROSS)gcc -shared -o $@ $< -Wl,-z,now -Wl,--wrap=pthread_create -Wl,-soname,libsplitstack.so.0

$(A64)/libsplitstack_stubs.o: asm/aarch64/shared_stubs.S
	@mkdir -p $(A64)
	$(A64_CROSS)gcc -c -o $@ $<

$(A64)/libsplitstack.so: $(A64)/libsplitstack.so.0 $(A64)/libsplitstack_stubs.o
	printf '/* GNU ld script: the runtime, and the stubs that bind __morestack\n   locally (see asm/aarch64/shared_stubs.S). */\nINPUT ( libsplitstack.so.0 libsplitstack_stubs.o )\n' > $@

test-aarch64:
	sh tests/aarch64/run.sh

demo: lib
	$(CC) -O2 -fsplit-stack -Iinclude demo/demo.c $(BUILD)/libsplitstack.a -o $(BUILD)/demo
	sh -c 'ulimit -s 256 && ./$(BUILD)/demo'

header:
	sh tools/gen-header.sh

test: lib
	bash tests/run-all.sh

# Benchmarks against libgcc's runtime (bench/README.md); BENCH_QUICK=1 for a
# one-minute run.  Writes bench/results/.
.PHONY: bench
bench: lib
	sh bench/build.sh
	python3 bench/run.py

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
