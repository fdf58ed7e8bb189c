# splitstack: build the libraries, the header, the demo; run the tests.
#
#   make            libraries (build/libsplitstack.a, build/libsplitstack.so)
#   make demo       build and run demo/demo.c against the static library
#   make examples   build examples/*.c into build/examples/ and run them
#   make test       every test (the README's test command)
#   make header     regenerate include/splitstack.h with cbindgen
#   make lib-aarch64   cross-built libraries in build/aarch64/
#   make test-aarch64  the aarch64 suite under qemu (needs the cross tools)
#   make install       libraries, header, pkg-config files, man pages into
#                      $(DESTDIR)$(PREFIX) (PREFIX=/usr/local by default)
#   make uninstall     removes exactly what `make install` put there
#   make install-aarch64 / uninstall-aarch64
#                      the cross-built libraries and their pkg-config files
#                      in PREFIX/lib/aarch64-linux-gnu (header, man pages:
#                      `make install`)
#
# The version is Cargo.toml's (0.1.0: build/libsplitstack.so.0.1.0, soname
# libsplitstack.so.0, symlinked as build/libsplitstack.so.0).  A missing
# tool (cargo, binutils, cbindgen, the cross tools) stops the build with a
# "splitstack: ... not found" line saying what to install.

CARGO    ?= cargo
CC       ?= gcc
BUILD    := build
SOURCES  := $(wildcard src/*.rs src/*/*.rs asm/*/*.S asm/*/*.h) Cargo.toml build.rs

# Cargo.toml's version, e.g. 0.1.0: the shared library's real name is
# libsplitstack.so.0.1.0 and its soname libsplitstack.so.0 (the major).
VERSION  := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
SOMAJOR  := $(firstword $(subst ., ,$(VERSION)))
SONAME   := libsplitstack.so.$(SOMAJOR)
REALNAME := libsplitstack.so.$(VERSION)
# The version node of every exported symbol (the generated version script,
# build/splitstack.map).  It names the release that introduced the
# symbols, not the current one: it must not change when Cargo.toml's
# version does.  The soname stays libsplitstack.so.0 while releases only
# add symbols; symbols added later get a node of their own
# (SPLITSTACK_0.2 { ... } SPLITSTACK_0.1;), and removing or changing one
# means a new soname.
SYMVER_NODE := SPLITSTACK_0.1

# Stops the recipe with what to install when a tool is missing:
# $(call need,TOOL,HINT).
need = command -v $(1) > /dev/null 2>&1 || { echo "splitstack: $(1) not found: $(2)" >&2; exit 1; }
CARGO_HINT := install Rust with rustup (https://rustup.rs) and put ~/.cargo/bin on PATH (see README, Building)
BINUTILS_HINT := apt-get install build-essential binutils
A64_HINT := the aarch64 cross tools: apt-get install gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu rustc-web libstd-rust-web-dev:arm64 (after dpkg --add-architecture arm64; see README, aarch64)

.PHONY: all lib demo examples test header clean lib-aarch64 test-aarch64

all: lib

lib: $(BUILD)/libsplitstack.a $(BUILD)/libsplitstack.so
lib-aarch64: $(BUILD)/aarch64/libsplitstack.a $(BUILD)/aarch64/libsplitstack.so

# ---------------------------------------------------------------------
# One recipe, two architectures.  Per architecture A:
#   A_OUT     where the libraries go
#   A_CROSS   prefix of the binutils to use, A_GCC the compiler driver
#   A_RUSTLIB the staticlib cargo builds, and A_CARGO the command
#   A_EXPORTS the exported symbols (exports.txt, less what A lacks)
#   A_PRUNE   commands run on the staticlib copy $(1)/rust.a before linking
# The host (x86_64) builds with rustup's cargo; aarch64 is cross-built with
# Debian's rustc (rustc-web, with the arm64 standard library) in a target
# directory of its own.  `make test-aarch64` runs the aarch64 suite under
# qemu-aarch64 at 4, 16 and 64 KiB pages (tests/c/aarch64/run.sh); `make
# test` runs it too when the cross tools are installed.
x86_64_OUT     := $(BUILD)
x86_64_CROSS   :=
x86_64_GCC     := $(CC)
x86_64_RUSTLIB := target/release/libsplitstack.a
x86_64_CARGO   := $(CARGO) build --release --quiet
x86_64_EXPORTS := $(shell cat exports.txt)
x86_64_PRUNE   :=
x86_64_CHECK   := $(call need,$(firstword $(CARGO)),$(CARGO_HINT)); \
  $(call need,$(CC),$(BINUTILS_HINT)); $(call need,objcopy,$(BINUTILS_HINT)); $(call need,ld,$(BINUTILS_HINT))

A64_CROSS      ?= aarch64-linux-gnu-
A64_RUSTC      ?= /usr/bin/rustc
aarch64_OUT     := $(BUILD)/aarch64
aarch64_CROSS   := $(A64_CROSS)
aarch64_GCC     := $(A64_CROSS)gcc
aarch64_RUSTLIB := target/aarch64/aarch64-unknown-linux-gnu/release/libsplitstack.a
aarch64_CARGO   := RUSTC=$(A64_RUSTC) CARGO_TARGET_DIR=target/aarch64 \
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=$(A64_CROSS)gcc \
  $(CARGO) build --release --quiet --target aarch64-unknown-linux-gnu
# __morestack_large_model is an x86_64 entry point (-mcmodel=large).
aarch64_EXPORTS := $(filter-out __morestack_large_model,$(shell cat exports.txt))
# Debian's aarch64 compiler_builtins carries compiler-rt's
# __gcc_personality_v0: left out, so that the program's libgcc supplies
# the personality of __morestack, as on x86_64.
aarch64_CHECK   := $(call need,$(firstword $(CARGO)),$(CARGO_HINT)); $(call need,$(A64_RUSTC),$(A64_HINT)); \
  $(call need,$(aarch64_GCC),$(A64_HINT)); $(call need,$(A64_CROSS)objcopy,$(A64_HINT)); \
  test -d "$$$$($(A64_RUSTC) --print sysroot)/lib/rustlib/aarch64-unknown-linux-gnu/lib" \
  || { echo "splitstack: $(A64_RUSTC) has no aarch64-unknown-linux-gnu standard library: $(A64_HINT)" >&2; exit 1; }
aarch64_PRUNE   := if $(A64_CROSS)ar t $(aarch64_OUT)/rust.a | grep -qx gcc_personality_v0.c.o; then \
  $(A64_CROSS)ar d $(aarch64_OUT)/rust.a gcc_personality_v0.c.o; fi

define LIBRARY
$($(1)_RUSTLIB): $(SOURCES)
	@$($(1)_CHECK)
	$($(1)_CARGO)

# One relocatable object holding the runtime and exactly the parts of
# core it uses; every symbol but the exported ones is made local, so the
# library never supplies anything else (compiler builtins, core) to a
# program.  The bitcode sections of the standard library are dropped
# first (binutils' LLVM plugin cannot read Debian's and says so, loudly).
# splitstack.o goes into the shared library; splitstack_exe.o, the same
# with the assembly built for executables (SS_TLS_LOCAL_EXEC: thread-local
# variables reached in one instruction, see asm/$(1)/morestack.S), into
# the static library.
$($(1)_OUT)/splitstack.o: $($(1)_RUSTLIB) exports.txt
	@mkdir -p $($(1)_OUT)
	printf '%s\n' $($(1)_EXPORTS) > $($(1)_OUT)/exports.txt
	$($(1)_CROSS)objcopy --remove-section=.llvmbc --remove-section=.llvmcmd $$< $($(1)_OUT)/rust.a
	$($(1)_PRUNE)
	$($(1)_CROSS)ld -r --gc-sections $$(addprefix -u ,$($(1)_EXPORTS)) -o $($(1)_OUT)/prelink.o $($(1)_OUT)/rust.a
	$($(1)_CROSS)objcopy --keep-global-symbols=$($(1)_OUT)/exports.txt --keep-global-symbol=__real_pthread_create \
	  --strip-symbol=rust_eh_personality $($(1)_OUT)/prelink.o $$@

$($(1)_OUT)/morestack_exe.o: asm/$(1)/morestack.S $(wildcard asm/$(1)/*.h asm/common/*.h)
	@mkdir -p $($(1)_OUT)
	$($(1)_GCC) -c -DSS_TLS_LOCAL_EXEC -Iasm/$(1) -o $$@ $$<

$($(1)_OUT)/splitstack_exe.o: $($(1)_OUT)/splitstack.o $($(1)_OUT)/morestack_exe.o
	cp $($(1)_OUT)/rust.a $($(1)_OUT)/rust_exe.a
	m=$$$$($($(1)_CROSS)ar t $($(1)_OUT)/rust_exe.a | grep -- '-morestack\.o$$$$'); \
	  test "$$$$(echo "$$$$m" | wc -w)" = 1 || { echo "splitstack: no single morestack object in rust.a: $$$$m" >&2; exit 1; }; \
	  $($(1)_CROSS)ar d $($(1)_OUT)/rust_exe.a "$$$$m"
	$($(1)_CROSS)ar q $($(1)_OUT)/rust_exe.a $($(1)_OUT)/morestack_exe.o
	$($(1)_CROSS)ld -r --gc-sections $$(addprefix -u ,$($(1)_EXPORTS)) -o $($(1)_OUT)/prelink_exe.o $($(1)_OUT)/rust_exe.a
	$($(1)_CROSS)objcopy --keep-global-symbols=$($(1)_OUT)/exports.txt --keep-global-symbol=__real_pthread_create \
	  --strip-symbol=rust_eh_personality $($(1)_OUT)/prelink_exe.o $$@

# __real_pthread_create for links made without --wrap=pthread_create
# (asm/$(1)/nowrap.S); the linker takes it only then.
$($(1)_OUT)/splitstack_nowrap.o: asm/$(1)/nowrap.S
	@mkdir -p $($(1)_OUT)
	$($(1)_GCC) -c -o $$@ $$<

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
$($(1)_OUT)/splitstack_static.o: $($(1)_OUT)/splitstack_exe.o
	printf '\t.hidden __morestack\n\t.section .note.GNU-stack,"",%%progbits\n' > $($(1)_OUT)/hide_morestack.s
	$($(1)_GCC) -c -o $($(1)_OUT)/hide_morestack.o $($(1)_OUT)/hide_morestack.s
	$($(1)_CROSS)ld -r -o $$@ $$< $($(1)_OUT)/hide_morestack.o

$($(1)_OUT)/libsplitstack.a: $($(1)_OUT)/splitstack_static.o $($(1)_OUT)/splitstack_nowrap.o
	rm -f $$@
	$($(1)_CROSS)ar rcs $$@ $$^

# The version script: every exported symbol in node $(SYMVER_NODE),
# everything else local.
$($(1)_OUT)/splitstack.map: exports.txt Makefile
	@mkdir -p $($(1)_OUT)
	{ echo '/* Generated by the Makefile from exports.txt. */'; echo '$(SYMVER_NODE) {'; echo '  global:'; \
	  printf '    %s;\n' $($(1)_EXPORTS); echo '  local: *;'; echo '};'; } > $$@

# The shared library proper, under its real name (libsplitstack.so.0.1.0),
# with the soname libsplitstack.so.0 as a symlink to it.  --wrap binds the
# wrapper's __real_pthread_create to libc's pthread_create; -z now keeps
# the dynamic linker off the __morestack path.
$($(1)_OUT)/$(REALNAME): $($(1)_OUT)/splitstack.o $($(1)_OUT)/splitstack.map
	$($(1)_GCC) -shared -o $$@ $$< -Wl,-z,now -Wl,--wrap=pthread_create -Wl,-soname,$(SONAME) \
	  -Wl,--version-script=$($(1)_OUT)/splitstack.map

$($(1)_OUT)/$(SONAME): $($(1)_OUT)/$(REALNAME)
	ln -sfn $(REALNAME) $$@

# What -lsplitstack finds: a linker script adding the program's own
# hidden __morestack and __morestack_non_split stubs (asm/$(1)/shared_stubs.S:
# gold would otherwise take every prologue's call for a call into non-split
# code, and aarch64's contract forbids reaching __morestack through a PLT).
$($(1)_OUT)/libsplitstack_stubs.o: asm/$(1)/shared_stubs.S
	@mkdir -p $($(1)_OUT)
	$($(1)_GCC) -c -o $$@ $$<

$($(1)_OUT)/libsplitstack.so: $($(1)_OUT)/$(SONAME) $($(1)_OUT)/libsplitstack_stubs.o
	printf '/* GNU ld script: the runtime, and the program'"'"'s own __morestack stubs\n   (see asm/$(1)/shared_stubs.S). */\nINPUT ( $(SONAME) libsplitstack_stubs.o )\n' > $$@
endef

$(eval $(call LIBRARY,x86_64))
$(eval $(call LIBRARY,aarch64))

test-aarch64:
	sh tests/c/aarch64/run.sh

# ---------------------------------------------------------------------
# Installing (tools/install.sh keeps the one list both install and
# uninstall use).  The linker script and the .pc files name PREFIX paths;
# DESTDIR only says where the files are staged.  PC_RPATH=yes/no/auto:
# whether splitstack.pc adds -Wl,-rpath,${libdir} (auto: unless libdir is
# one the dynamic linker searches anyway, like /usr/lib).
PREFIX     ?= /usr/local
DESTDIR    ?=
libdir     ?= $(PREFIX)/lib
aarch64_libdir ?= $(PREFIX)/lib/aarch64-linux-gnu
includedir ?= $(PREFIX)/include
mandir     ?= $(PREFIX)/share/man
PC_RPATH   ?= auto
INSTALL_ENV = DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' INCLUDEDIR='$(includedir)' MANDIR='$(mandir)' \
  VERSION='$(VERSION)' SONAME='$(SONAME)' REALNAME='$(REALNAME)' PC_RPATH='$(PC_RPATH)'
x86_64_INSTALL_ENV  = $(INSTALL_ENV) BUILDDIR='$(x86_64_OUT)' LIBDIR='$(libdir)' PKGCONFIGDIR='$(libdir)/pkgconfig'
aarch64_INSTALL_ENV = $(INSTALL_ENV) BUILDDIR='$(aarch64_OUT)' LIBDIR='$(aarch64_libdir)' PKGCONFIGDIR='$(aarch64_libdir)/pkgconfig'

.PHONY: install uninstall install-aarch64 uninstall-aarch64
install: lib
	@echo "splitstack $(VERSION): installing into $(DESTDIR)$(PREFIX)"
	@$(x86_64_INSTALL_ENV) sh tools/install.sh install x86_64
	@$(INSTALL_ENV) sh tools/install.sh install common

uninstall:
	@$(x86_64_INSTALL_ENV) sh tools/install.sh uninstall x86_64
	@$(INSTALL_ENV) sh tools/install.sh uninstall common

install-aarch64: lib-aarch64
	@echo "splitstack $(VERSION) (aarch64): installing into $(DESTDIR)$(aarch64_libdir)"
	@$(aarch64_INSTALL_ENV) sh tools/install.sh install aarch64

uninstall-aarch64:
	@$(aarch64_INSTALL_ENV) sh tools/install.sh uninstall aarch64

demo: lib
	$(CC) -O2 -fsplit-stack -Iinclude demo/demo.c $(BUILD)/libsplitstack.a -o $(BUILD)/demo
	sh -c 'ulimit -s 256 && ./$(BUILD)/demo'

# Each example is one C file, compiled with -fsplit-stack and linked by
# gold against the static library (examples/preempt.c: preemptive round
# robin of coroutines through interrupts, x86_64).
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

$(BUILD)/examples/%: examples/%.c include/splitstack.h $(BUILD)/libsplitstack.a
	@mkdir -p $(BUILD)/examples
	$(CC) -O2 -Wall -Wextra -fsplit-stack -fuse-ld=gold -Iinclude $< $(BUILD)/libsplitstack.a -lpthread -o $@

examples: lib $(EXAMPLES)
	@for e in $(EXAMPLES); do echo "./$$e"; ./$$e || exit 1; done

header:
	@$(call need,cbindgen,apt-get install cbindgen (or cargo install cbindgen))
	sh tools/gen-header.sh

test: lib
	bash tests/run.sh

# Benchmarks against libgcc's runtime (bench/README.md); BENCH_QUICK=1 for a
# one-minute run.  measure.py runs them and writes only raw numbers
# (results.json); report.py makes the table, results.md, the plot and the
# README tables from them.  Full runs write bench/results/, quick ones
# build/bench/quick-results/.  `make bench-report` makes the report again
# from the results.json already there, measuring nothing.
.PHONY: bench bench-report
bench: lib
	sh bench/build.sh
	python3 bench/measure.py
	python3 bench/report.py

bench-report:
	python3 bench/report.py

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
