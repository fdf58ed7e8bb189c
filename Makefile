# splitstack: build the libraries, the header, the demo; run the tests.
#
#   make            libraries (build/libsplitstack.a, build/libsplitstack.so)
#   make demo       build and run demo/demo.c against the static library
#   make test       every test (the README's test command)
#   make header     regenerate include/splitstack.h with cbindgen

CARGO    ?= cargo
CC       ?= gcc
BUILD    := build
RUSTLIB  := target/release/libsplitstack.a
SOURCES  := $(wildcard src/*.rs src/*/*.rs asm/*/*.S asm/*/*.h) Cargo.toml build.rs

.PHONY: all lib demo test header header-check cargo-test c-tests gcc-suite clean

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

$(BUILD)/libsplitstack.a: $(BUILD)/splitstack.o
	rm -f $@
	ar rcs $@ $<

# --wrap binds the wrapper's __real_pthread_create to libc's
# pthread_create; -z now keeps the dynamic linker off the __morestack path.
$(BUILD)/libsplitstack.so: $(BUILD)/splitstack.o
	$(CC) -shared -o $@ $< -Wl,-z,now -Wl,--wrap=pthread_create -Wl,-soname,libsplitstack.so

demo: lib
	$(CC) -O2 -fsplit-stack -Iinclude demo/demo.c $(BUILD)/libsplitstack.a -o $(BUILD)/demo
	sh -c 'ulimit -s 256 && ./$(BUILD)/demo'

header:
	cbindgen --config cbindgen.toml --crate splitstack --output include/splitstack.h

test: lib
	sh tests/run-all.sh

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
