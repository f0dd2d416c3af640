# edulab: hardware-free PCIe DMA driver lab.
#
#   make run         build everything and boot the lab (interactive shell on a
#                    terminal, else the demo), x86_64, stock Debian kernel
#   make test        host unit tests + every VM scenario on the stock kernels
#   make test-debug  the VM suite on the lab's debug kernel (KASAN, lockdep...)
#   make test-matrix the whole VM suite on Debian's 6.12 and 6.12-rt too
#   make bench       edu-bench in the lab, report under build/bench/
#   make lint        checkpatch/sparse/W=1 on the driver, clang-format and
#                    clang-tidy on the C++
#
# Public targets first install missing Debian packages (scripts/deps.sh), then
# re-enter make so versions are read from what is installed now.

SHELL := /bin/bash
.DEFAULT_GOAL := all
ROOT := $(CURDIR)
BUILD := $(ROOT)/build
export EDULAB_CACHE ?= $(HOME)/.cache/edulab
JOBS ?= $(shell nproc)
SUBMAKE = $(MAKE) --no-print-directory -f $(ROOT)/Makefile

# Compilations are cached by ccache under the lab's cache, so a fresh clone
# (CI) recompiles nothing that a previous build compiled: the cache ignores
# where the tree is (base dir + no directory hash).
export CCACHE_DIR ?= $(EDULAB_CACHE)/ccache
export CCACHE_BASEDIR := $(ROOT)
export CCACHE_NOHASHDIR := 1
export CCACHE_MAXSIZE ?= 3G
CMAKE_LAUNCHER = $(if $(shell command -v ccache),-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

.PHONY: all run test test-debug test-matrix bench lint stage clean deps help
help:
	@sed -n '3,10p' Makefile | sed 's/^# \{0,1\}//'

all: ; @scripts/deps.sh x86_64 aarch64 && $(SUBMAKE) _stage ARCH=x86_64 KERNEL=stock
# make run: the whole lab -- edu devices and the lab's own labdma (full and
# lite) in the lab's QEMU.
run: ; @scripts/deps.sh x86_64 && $(SUBMAKE) _qemu && $(SUBMAKE) _stage ARCH=x86_64 KERNEL=stock && scripts/run_qemu.sh --no-build --labdma 1 --labdma-lite 1 $(RUN_ARGS)
test: ; @scripts/deps.sh x86_64 aarch64 lint && $(SUBMAKE) _test
test-debug: ; @scripts/deps.sh x86_64 && $(SUBMAKE) _test-debug
test-matrix: ; @scripts/deps.sh x86_64 && $(SUBMAKE) _test-matrix
bench: ; @scripts/deps.sh x86_64 && $(SUBMAKE) _bench
lint: ; @scripts/deps.sh x86_64 lint && $(SUBMAKE) _lint
deps: ; @scripts/deps.sh x86_64 aarch64 lint
# `make stage ARCH=aarch64 KERNEL=stock`: what run_qemu.sh calls before booting.
stage: ; @scripts/deps.sh $(ARCH) && $(SUBMAKE) _stage
clean: ; rm -rf $(BUILD)

# ---------------------------------------------------------------------------
# Internal targets (dependencies installed).

ARCH ?= x86_64
KERNEL ?= stock
KREL_STOCK := $(shell dpkg-query -W -f='$${Depends}' linux-image-amd64 2>/dev/null | grep -o 'linux-image-[0-9][^ ,]*-amd64' | head -1 | sed 's/^linux-image-//')
ABI := $(KREL_STOCK:-amd64=)
ARM_ROOT := $(EDULAB_CACHE)/arm64/$(ABI)/root

ifeq ($(ARCH),x86_64)
  KMAKE_ARCH :=
  CMAKE_CROSS :=
  BUSYBOX := /bin/busybox
  STRIP := strip
else ifeq ($(ARCH),aarch64)
  KMAKE_ARCH := ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
  CMAKE_CROSS := -DCMAKE_TOOLCHAIN_FILE=$(ROOT)/cmake/aarch64-linux-gnu.cmake
  BUSYBOX := $(ARM_ROOT)/bin/busybox
  STRIP := aarch64-linux-gnu-strip
else
  $(error ARCH must be x86_64 or aarch64)
endif

# Kernel flavour -> image, release, module build tree, module directory.
ifeq ($(ARCH)-$(KERNEL),x86_64-stock)
  KIMAGE = /boot/vmlinuz-$(KREL_STOCK)
  KREL = $(KREL_STOCK)
  KDIR = /usr/src/linux-headers-$(KREL_STOCK)
  MODDIR = /lib/modules/$(KREL_STOCK)
else ifeq ($(ARCH)-$(KERNEL),aarch64-stock)
  KIMAGE = $(ARM_ROOT)/boot/vmlinuz-$(ABI)-arm64
  KREL = $(ABI)-arm64
  KDIR = $(ARM_ROOT)/usr/src/linux-headers-$(ABI)-arm64
  MODDIR = $(ARM_ROOT)/lib/modules/$(ABI)-arm64
else ifneq ($(filter $(ARCH)-$(KERNEL),x86_64-debug x86_64-min),)
  KBUILD_OUT = $(shell $(ROOT)/bsp/kernel/build-kernel.sh $(KERNEL))
  KDIR = $(KBUILD_OUT)/build
  KIMAGE = $(KDIR)/arch/x86/boot/bzImage
  KREL = $(shell cat $(KDIR)/include/config/kernel.release)
  MODDIR = -
else ifneq ($(filter $(ARCH)-$(KERNEL),x86_64-6.12 x86_64-6.12-rt),)
  # Debian 12's 6.12 LTS backport (bookworm-security), unpacked into the cache
  # with its headers, never installed: bsp/kernel/fetch-debian-kernel.sh.
  DEB_ROOT := $(shell $(ROOT)/bsp/kernel/fetch-debian-kernel.sh $(KERNEL))
  KREL := $(notdir $(firstword $(wildcard $(DEB_ROOT)/lib/modules/*)))
  KIMAGE = $(DEB_ROOT)/boot/vmlinuz-$(KREL)
  KDIR = $(DEB_ROOT)/usr/src/linux-headers-$(KREL)
  MODDIR = $(DEB_ROOT)/lib/modules/$(KREL)
else
  $(error no kernel flavour '$(KERNEL)' for $(ARCH): stock on both; debug, min, 6.12 and 6.12-rt on x86_64)
endif

STAGE := $(BUILD)/stage/$(ARCH)-$(KERNEL)
DRIVER_OUT := $(BUILD)/driver/$(ARCH)-$(KERNEL)
LABDMA_OUT := $(BUILD)/labdma/$(ARCH)-$(KERNEL)
GUEST_BUILD := $(BUILD)/guest-$(ARCH)
HOST_BUILD := $(BUILD)/host

.PHONY: _qemu _host _host-configure _host-sanitizers _test-sanitizers _guest _guest-configure _module _test-modules _stage _test _test-debug _test-matrix _bench _lint
# Configuring alone writes the compile database (compile_commands.json) that
# clang-tidy reads.
_host-configure:
	@cmake -S $(ROOT) -B $(HOST_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_LAUNCHER) \
		-DEDULAB_TEST_RESULTS_DIR=$(BUILD)/test-results >/dev/null

_host: _host-configure
	@cmake --build $(HOST_BUILD) -j$(JOBS)

# The lab's own QEMU (Debian's 7.2 source + hw/labdma), built once per input
# and cached under ~/.cache/edulab/qemu; build/qemu links to it.
_qemu:
	@d=$$($(ROOT)/bsp/qemu/build.sh) && mkdir -p $(BUILD) && ln -sfn "$$d" $(BUILD)/qemu

# The host unit tests again under ASan+UBSan and under TSan, one build tree
# each (only the unit-test programs are built there).
SANITIZERS := asan:address,undefined tsan:thread
UNIT_TEST_TARGETS := edu-lib-unit-tests edu-lib-hot-path-tests runner-unit-tests edu-bench-report-unit-tests
_host-sanitizers:
	@for s in $(SANITIZERS); do \
		dir=$(BUILD)/host-$${s%%:*}; \
		cmake -S $(ROOT) -B $$dir -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_LAUNCHER) \
			-DEDULAB_SANITIZE=$${s#*:} >/dev/null && \
		cmake --build $$dir -j$(JOBS) --target $(UNIT_TEST_TARGETS) || exit 1; \
	done

# halt_on_error: a sanitizer report fails the test that caused it.
export ASAN_OPTIONS := detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1
export UBSAN_OPTIONS := halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS := halt_on_error=1:second_deadlock_stack=1
_test-sanitizers: _host-sanitizers
	@for s in $(SANITIZERS); do \
		n=$${s%%:*}; echo "unit tests under $${s#*:} sanitizer(s) (build/host-$$n)"; \
		(cd $(BUILD)/host-$$n && ctest -L unit --output-on-failure -j2 \
			--output-junit $(BUILD)/test-results/ctest-unit-$$n.xml) || exit 1; \
	done

_guest-configure:
	@cmake -S $(ROOT) -B $(GUEST_BUILD) -DEDULAB_GUEST=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		$(CMAKE_LAUNCHER) $(CMAKE_CROSS) >/dev/null

_guest: _guest-configure
	@cmake --build $(GUEST_BUILD) -j$(JOBS)

# The driver is built out of tree per (arch, kernel) from symlinks to driver/edu/.
_module:
	@mkdir -p $(DRIVER_OUT)
	@for f in $(ROOT)/driver/edu/edu_*.[ch] $(ROOT)/driver/edu/Kbuild; do ln -sf $$f $(DRIVER_OUT)/; done
	@$(MAKE) -s -C $(KDIR) M=$(DRIVER_OUT) $(KMAKE_ARCH) EDU_UAPI_DIR=$(ROOT)/include/uapi modules
	@mkdir -p $(LABDMA_OUT)
	@for f in $(ROOT)/driver/labdma/labdma_*.[ch] $(ROOT)/driver/labdma/Kbuild; do ln -sf $$f $(LABDMA_OUT)/; done
	@$(MAKE) -s -C $(KDIR) M=$(LABDMA_OUT) $(KMAKE_ARCH) LABDMA_UAPI_DIR=$(ROOT)/include/uapi modules

# Test-only modules (tests/kmod: lab_splat, kernel problems on purpose for the
# runner's verdict tests), built the same way beside the driver.
KMOD_OUT := $(BUILD)/kmod/$(ARCH)-$(KERNEL)
_test-modules:
	@mkdir -p $(KMOD_OUT)
	@for f in $(ROOT)/tests/kmod/*.c $(ROOT)/tests/kmod/Kbuild; do ln -sf $$f $(KMOD_OUT)/; done
	@$(MAKE) -s -C $(KDIR) M=$(KMOD_OUT) $(KMAKE_ARCH) modules

_stage: _module _test-modules _guest
	@$(ROOT)/bsp/mkstage.sh $(STAGE) $(KIMAGE) $(KREL) $(MODDIR) $(BUSYBOX) $(GUEST_BUILD)/bin \
		"$(DRIVER_OUT)/edu.ko $(LABDMA_OUT)/labdma.ko $(KMOD_OUT)/lab_splat.ko" $(STRIP)

_test:
	@$(SUBMAKE) _qemu
	@$(SUBMAKE) _host
	@$(SUBMAKE) _stage ARCH=x86_64 KERNEL=stock
	@$(SUBMAKE) _stage ARCH=aarch64 KERNEL=stock
	@$(SUBMAKE) _stage ARCH=x86_64 KERNEL=6.12
	@$(SUBMAKE) _stage ARCH=x86_64 KERNEL=6.12-rt
	@$(SUBMAKE) _lint
	@rm -rf $(BUILD)/test-results && mkdir -p $(BUILD)/test-results
	@$(SUBMAKE) _test-sanitizers
	cd $(HOST_BUILD) && ctest -L 'unit|qtest|vm-stock' --output-on-failure -j2 \
		--output-junit $(BUILD)/test-results/ctest-test.xml

_test-debug:
	@$(SUBMAKE) _qemu
	@$(SUBMAKE) _host
	@$(SUBMAKE) _stage ARCH=x86_64 KERNEL=debug
	@$(SUBMAKE) _stage ARCH=x86_64 KERNEL=min
	@mkdir -p $(BUILD)/test-results
	cd $(HOST_BUILD) && ctest -L 'vm-debug|vm-min' --output-on-failure -j2 \
		--output-junit $(BUILD)/test-results/ctest-test-debug.xml

# `make bench`: edu-bench in a 5-device lab -- 4 devices for the driver, the
# 5th unbound as the raw MMIO baseline (bsp/rootfs/overlay/usr/bin/lab-bench)
# -- then the host renders build/bench/: results.json, *.png, report.md, and
# prints the summary table. BENCH_ARGS go to edu-bench (e.g. --smoke).
# tsc=reliable: with 2 vCPUs the guest finds TCG's TSCs unsynchronised and
# falls back to the emulated HPET, whose every read (each timestamp, and each
# iteration of the driver's polling loops) traps into QEMU.
BENCH_ARGS ?= --dma-samples 20 --latency-samples 5000
BENCH_OUT := $(BUILD)/bench
# The kernel matrix: the whole suite on 6.1 (the stock MSI, INTx and 4-device
# scenarios), 6.12 and 6.12-rt.
_test-matrix:
	@$(SUBMAKE) _host
	@$(SUBMAKE) _stage ARCH=x86_64 KERNEL=stock
	@$(SUBMAKE) _stage ARCH=x86_64 KERNEL=6.12
	@$(SUBMAKE) _stage ARCH=x86_64 KERNEL=6.12-rt
	@mkdir -p $(BUILD)/test-results
	cd $(HOST_BUILD) && ctest -R 'vm\.x86_64\.(stock|6\.12|6\.12-rt)\.(msi|intx|4edu)$$' \
		--output-on-failure -j2 --output-junit $(BUILD)/test-results/ctest-test-matrix.xml

_bench:
	@$(SUBMAKE) _qemu
	@$(SUBMAKE) _host
	@$(SUBMAKE) _stage ARCH=x86_64 KERNEL=stock
	@rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)/guest
	@# labdma's device model on its own (qtest, no guest): its raw copy rate
	@# against the host's memcpy, per-descriptor cost, CRC32C.
	@$(HOST_BUILD)/tests/qtest/labdma-model-bench --qemu $(BUILD)/qemu/bin/qemu-system-x86_64 \
		--json $(BENCH_OUT)/labdma-model.json
	@note="host: $$(nproc) cores, load average $$(cut -d' ' -f1-3 /proc/loadavg) before the run, \
	$$(pgrep -c qemu-system || true) other QEMU process(es) running (TCG: host load shows in the tails)"; \
	s=0; $(ROOT)/scripts/run_qemu.sh --no-build --edu 5 --smp 2 --append tsc=reliable --timeout 900 \
		--results $(BENCH_OUT)/guest --log $(BENCH_OUT)/guest.log -- lab-bench $(BENCH_ARGS) || s=$$?; \
	r=0; $(HOST_BUILD)/tools/edu-bench-report/edu-bench-report $(BENCH_OUT)/guest/results.json \
		-o $(BENCH_OUT) --note "$$note" || r=$$?; \
	if [ $$s -ne 0 ]; then echo "bench: the lab run failed (status $$s, guest log: $(BENCH_OUT)/guest.log)" >&2; exit $$s; fi; \
	exit $$r

# checkpatch.pl and its data files, from Debian's linux-source-6.1 tarball.
SRCVER := $(shell dpkg-query -W -f='$${Version}' linux-source-6.1 2>/dev/null)
CHECKPATCH_DIR := $(EDULAB_CACHE)/checkpatch-$(SRCVER)
$(CHECKPATCH_DIR)/scripts/checkpatch.pl:
	@echo "lint: extracting checkpatch.pl from linux-source $(SRCVER)" >&2
	@rm -rf $(CHECKPATCH_DIR).tmp && mkdir -p $(CHECKPATCH_DIR).tmp
	@tar -xf /usr/src/linux-source-6.1.tar.xz -C $(CHECKPATCH_DIR).tmp --strip-components=1 \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	@rm -rf $(CHECKPATCH_DIR) && mv $(CHECKPATCH_DIR).tmp $(CHECKPATCH_DIR)

_lint: $(CHECKPATCH_DIR)/scripts/checkpatch.pl
	@$(MAKE) -s -C $(ROOT)/driver/edu lint KDIR=/usr/src/linux-headers-$(KREL_STOCK) \
		EDU_UAPI_DIR=$(ROOT)/include/uapi CHECKPATCH=$(CHECKPATCH_DIR)/scripts/checkpatch.pl
	@$(MAKE) -s -C $(ROOT)/driver/labdma lint KDIR=/usr/src/linux-headers-$(KREL_STOCK) \
		LABDMA_UAPI_DIR=$(ROOT)/include/uapi CHECKPATCH=$(CHECKPATCH_DIR)/scripts/checkpatch.pl
	@cd $(ROOT) && git ls-files -co --exclude-standard -- lab lib tools tests examples include/edu \
		| grep -E '\.(cpp|hpp|c|h)$$' | grep -v '^tests/kmod/' | xargs clang-format --dry-run -Werror \
		&& echo "c++: clang-format clean"
	@# The test-only kernel modules are kernel C: checkpatch, like the driver.
	@$(CHECKPATCH_DIR)/scripts/checkpatch.pl --strict --no-tree --quiet -f $(ROOT)/tests/kmod/*.c \
		&& echo "tests/kmod: checkpatch --strict clean"
	@# The device model is QEMU code: QEMU's own checkpatch, from the source
	@# tree bsp/qemu/build.sh prepares.
	@q=$$($(ROOT)/bsp/qemu/build.sh --prepare) && perl $$q/scripts/checkpatch.pl --no-tree -q \
		-f $(ROOT)/hw/labdma/*.[ch] && echo "hw/labdma: QEMU checkpatch clean"
	@# clang-tidy reads the host and the guest (x86_64) compile databases: the
	@# guest tree holds the in-guest tests, the host tree the runner and unit tests.
	@$(SUBMAKE) _host-configure
	@$(SUBMAKE) _guest-configure ARCH=x86_64
	@nice -n 10 $(ROOT)/scripts/clang-tidy.sh -j$(JOBS) $(HOST_BUILD) $(BUILD)/guest-x86_64
