/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * User-space ABI of the labdma driver (the lab's PCIe DMA engine, QEMU
 * devices "labdma" 1af4:10f0, "labdma-lite" 1af4:10f1 and their SR-IOV
 * virtual functions 1af4:10f2; docs/labdma/datasheet.md).
 *
 * One character device per PCI function: /dev/labdmaN.
 *
 *   ioctl              below.
 *   poll/select/epoll  EPOLLIN when an asynchronous operation started on this
 *                      open file has completed (LABDMA_IOC_COMPLETE fetches
 *                      it), EPOLLOUT while fewer than queue_depth are in
 *                      flight, EPOLLHUP|EPOLLERR once the device is gone.
 *
 * All structures have fixed-width fields, natural alignment and explicit
 * padding, so 32-bit and 64-bit callers share one layout (compat_ioctl is a
 * pass-through).  Every reserved field and every unknown flag bit must be
 * zero on input (else -EINVAL) and is zero on output.  Pointers are __u64.
 * An unknown command is -ENOTTY.
 *
 * docs/labdma/uapi.md has the full semantics and every error.
 */
#ifndef _UAPI_LINUX_LABDMA_H
#define _UAPI_LINUX_LABDMA_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define LABDMA_IOC_MAGIC	0xDA
#define LABDMA_ABI_VERSION	1

/* Operations: the device's codes (datasheet 6.2) */
#define LABDMA_OP_NOP		0
#define LABDMA_OP_COPY		1	/* dst = src */
#define LABDMA_OP_FILL		2	/* dst = pattern, repeated (LE) */
#define LABDMA_OP_MUL2		3	/* u32 LE: dst = src * 2 */
#define LABDMA_OP_MUL4		4	/* u32 LE: dst = src * 4 */
#define LABDMA_OP_CRC32C	5	/* result = CRC32C(src) */
#define LABDMA_OP_COUNT		6

/* struct labdma_info.variant */
#define LABDMA_VARIANT_FULL	0	/* labdma, 1af4:10f0 */
#define LABDMA_VARIANT_LITE	1	/* labdma-lite, 1af4:10f1 */
#define LABDMA_VARIANT_VF	2	/* SR-IOV virtual function, 1af4:10f2 */

/* struct labdma_info.irq_mode */
#define LABDMA_IRQ_MODE_INTX	0
#define LABDMA_IRQ_MODE_MSI	1
#define LABDMA_IRQ_MODE_MSIX	2

/* struct labdma_version.driver_caps */
#define LABDMA_DRV_CAP_ASYNC	(1U << 0)	/* LABDMA_SUBMIT_ASYNC */
#define LABDMA_DRV_CAP_URING	(1U << 1)	/* io_uring command */
#define LABDMA_DRV_CAP_DMAENGINE (1U << 2)	/* dmaengine provider */

/**
 * struct labdma_version - LABDMA_IOC_GET_VERSION (output only)
 * @abi:         LABDMA_ABI_VERSION of the running driver
 * @hw_version:  the device's VERSION register ([31:16] major, [15:0] minor)
 * @driver_caps: LABDMA_DRV_CAP_*
 * @reserved:    zero
 */
struct labdma_version {
	__u32 abi;
	__u32 hw_version;
	__u32 driver_caps;
	__u32 reserved[5];
};

/**
 * struct labdma_info - LABDMA_IOC_IDENTIFY (output only)
 * @id:            ID register (0x4c444d41, "LDMA")
 * @hw_version:    VERSION register
 * @cap:           CAP register (datasheet 3.1)
 * @max_xfer:      MAX_XFER register: the largest descriptor, in bytes
 * @vendor:        PCI vendor ID of the function
 * @device:        PCI device ID (0x10f0, 0x10f1, 0x10f2)
 * @variant:       LABDMA_VARIANT_*
 * @index:         N of /dev/labdmaN
 * @channels:      number of channels
 * @ops_mask:      bit n set: operation n is supported
 * @ring_entries:  descriptors in each channel's ring
 * @irq_mode:      LABDMA_IRQ_MODE_*
 * @irq_vectors:   interrupt vectors in use
 * @dma_mask_bits: DMA mask width the driver set
 * @queue_depth:   asynchronous operations one open file may have in flight
 * @timeout_ms:    default operation timeout
 * @__pad:         zero
 * @max_async:     largest asynchronous operation, in bytes
 * @reserved:      zero
 */
struct labdma_info {
	__u32 id;
	__u32 hw_version;
	__u32 cap;
	__u32 max_xfer;
	__u16 vendor;
	__u16 device;
	__u32 variant;
	__u32 index;
	__u32 channels;
	__u32 ops_mask;
	__u32 ring_entries;
	__u32 irq_mode;
	__u32 irq_vectors;
	__u32 dma_mask_bits;
	__u32 queue_depth;
	__u32 timeout_ms;
	__u32 __pad;
	__u64 max_async;
	__u64 reserved[4];
};

/**
 * struct labdma_doint - LABDMA_IOC_DOINT: a test interrupt round trip
 * @bits:       in: INT_TEST bits 0..7 (device bits 24..31) to raise; 0 = bit 0
 * @timeout_ms: in: 0 = the device's timeout_ms
 * @count:      out: test interrupts this device has handled so far
 * @latency_ns: out: from the register write to the handler seeing every bit
 * @reserved:   zero
 */
struct labdma_doint {
	__u32 bits;
	__u32 timeout_ms;
	__u64 count;
	__u64 latency_ns;
	__u64 reserved[2];
};

/**
 * struct labdma_reg - LABDMA_IOC_REG_READ / LABDMA_IOC_REG_WRITE
 * (CAP_SYS_ADMIN)
 * @offset:   in: BAR0 offset of a 32-bit register (docs/labdma/uapi.md lists
 *            the ones allowed; ring and DMA address registers are never
 *            writable)
 * @value:    REG_READ out, REG_WRITE in
 * @reserved: zero
 */
struct labdma_reg {
	__u32 offset;
	__u32 value;
	__u64 reserved;
};

/* struct labdma_reset.scope */
#define LABDMA_RESET_CHANNEL	0	/* one channel; others keep running */
#define LABDMA_RESET_DEVICE	1	/* soft reset of the whole function */

/**
 * struct labdma_reset - LABDMA_IOC_RESET (CAP_SYS_ADMIN)
 * @scope:    LABDMA_RESET_*
 * @channel:  the channel, for LABDMA_RESET_CHANNEL (else zero)
 * @reserved: zero
 *
 * Operations in flight are not failed: they are put back on the reset
 * channel's ring and finish.
 */
struct labdma_reset {
	__u32 scope;
	__u32 channel;
	__u64 reserved[2];
};

/* Any channel: the driver picks one */
#define LABDMA_CHANNEL_ANY	0xffffffffU

/* struct labdma_submit.flags */
#define LABDMA_SUBMIT_ASYNC	(1U << 0)	/* start; LABDMA_IOC_COMPLETE ends */

/**
 * struct labdma_submit - LABDMA_IOC_SUBMIT: one operation on user memory
 * @op:         in: LABDMA_OP_*
 * @flags:      in: LABDMA_SUBMIT_*
 * @src:        in: source buffer (COPY, MUL2, MUL4, CRC32C), else 0
 * @dst:        in: destination buffer (COPY, FILL, MUL2, MUL4), else 0
 * @len:        in: bytes; any size and alignment (MUL2/MUL4: a multiple of
 *              4, buffers 4-byte aligned); asynchronous: up to max_async
 * @user_data:  in: returned in the completion of an asynchronous operation
 * @pattern:    in: FILL's 32-bit pattern, else 0
 * @channel:    in: channel index or LABDMA_CHANNEL_ANY
 * @timeout_ms: in: 0 = the device's timeout_ms; at most 60000
 * @__pad:      zero
 * @done:       out: bytes processed (synchronous)
 * @result:     out: CRC32C of the source (synchronous CRC32C), else 0
 * @hw_error:   out: the device's error code (datasheet 8) when the
 *              operation failed with -EIO, else 0
 * @reserved:   zero
 */
struct labdma_submit {
	__u32 op;
	__u32 flags;
	__u64 src;
	__u64 dst;
	__u64 len;
	__u64 user_data;
	__u32 pattern;
	__u32 channel;
	__u32 timeout_ms;
	__u32 __pad;
	__u64 done;
	__u32 result;
	__s32 hw_error;
	__u64 reserved[2];
};

/**
 * struct labdma_mul - LABDMA_IOC_MUL2 / LABDMA_IOC_MUL4: the reference
 * device's compute, on user buffers (a synchronous SUBMIT)
 * @src:        in: little-endian u32 values, 4-byte aligned
 * @dst:        in: results, 4-byte aligned (may equal @src)
 * @len:        in: bytes, a multiple of 4
 * @timeout_ms: in: 0 = the device's timeout_ms
 * @__pad:      zero
 * @done:       out: bytes processed
 * @reserved:   zero
 */
struct labdma_mul {
	__u64 src;
	__u64 dst;
	__u64 len;
	__u32 timeout_ms;
	__u32 __pad;
	__u64 done;
	__u64 reserved[2];
};

/**
 * struct labdma_completion - one finished asynchronous operation
 * @user_data: the submitter's labdma_submit.user_data
 * @done:      bytes processed
 * @status:    0 or a negative errno (-EIO with @hw_error, -ETIMEDOUT, ...)
 * @result:    CRC32C of the source, for CRC32C
 * @hw_error:  the device's error code for -EIO, else 0
 * @reserved:  zero
 */
struct labdma_completion {
	__u64 user_data;
	__u64 done;
	__s32 status;
	__u32 result;
	__s32 hw_error;
	__u32 reserved;
};

/* struct labdma_complete.flags */
#define LABDMA_COMPLETE_WAIT	(1U << 0)	/* wait for at least @min */

/**
 * struct labdma_complete - LABDMA_IOC_COMPLETE: fetch completions
 * @entries:  in: array of @max struct labdma_completion
 * @max:      in: its length, 1..1024
 * @min:      in: with LABDMA_COMPLETE_WAIT, wait until this many (1..@max)
 *            are ready or nothing more is in flight; else 0
 * @count:    out: entries filled
 * @flags:    in: LABDMA_COMPLETE_*
 * @timeout_ms: in: bound of the wait; 0 = the device's timeout_ms
 * @__pad:    zero
 * @reserved: zero
 */
struct labdma_complete {
	__u64 entries;
	__u32 max;
	__u32 min;
	__u32 count;
	__u32 flags;
	__u32 timeout_ms;
	__u32 __pad;
	__u64 reserved[2];
};

/**
 * struct labdma_stats - LABDMA_IOC_STATS (output only): per-device counters
 * @irqs:           interrupts handled (not counting spurious ones)
 * @test_irqs:      INT_TEST bits seen (DOINT)
 * @spurious_irqs:  interrupts with nothing for the driver (IRQ_NONE)
 * @lost_irqs:      completions found by the watchdog without an interrupt
 * @descs:          descriptors completed
 * @bytes:          bytes processed
 * @submits:        operations accepted
 * @errors:         operations failed by the device (-EIO)
 * @timeouts:       operations failed with -ETIMEDOUT
 * @channel_resets: channel resets (recovery and LABDMA_IOC_RESET)
 * @recoveries:     device recoveries by a function reset
 * @reserved:       zero
 */
struct labdma_stats {
	__u64 irqs;
	__u64 test_irqs;
	__u64 spurious_irqs;
	__u64 lost_irqs;
	__u64 descs;
	__u64 bytes;
	__u64 submits;
	__u64 errors;
	__u64 timeouts;
	__u64 channel_resets;
	__u64 recoveries;
	__u64 reserved[5];
};

#define LABDMA_IOC_GET_VERSION	_IOR(LABDMA_IOC_MAGIC, 0x00, struct labdma_version)
#define LABDMA_IOC_IDENTIFY	_IOR(LABDMA_IOC_MAGIC, 0x01, struct labdma_info)
#define LABDMA_IOC_DOINT	_IOWR(LABDMA_IOC_MAGIC, 0x02, struct labdma_doint)
#define LABDMA_IOC_REG_READ	_IOWR(LABDMA_IOC_MAGIC, 0x03, struct labdma_reg)
#define LABDMA_IOC_REG_WRITE	_IOW(LABDMA_IOC_MAGIC, 0x04, struct labdma_reg)
#define LABDMA_IOC_RESET	_IOW(LABDMA_IOC_MAGIC, 0x05, struct labdma_reset)
#define LABDMA_IOC_MUL2		_IOWR(LABDMA_IOC_MAGIC, 0x06, struct labdma_mul)
#define LABDMA_IOC_MUL4		_IOWR(LABDMA_IOC_MAGIC, 0x07, struct labdma_mul)
#define LABDMA_IOC_SUBMIT	_IOWR(LABDMA_IOC_MAGIC, 0x08, struct labdma_submit)
#define LABDMA_IOC_COMPLETE	_IOWR(LABDMA_IOC_MAGIC, 0x09, struct labdma_complete)
#define LABDMA_IOC_STATS	_IOR(LABDMA_IOC_MAGIC, 0x0a, struct labdma_stats)

#endif /* _UAPI_LINUX_LABDMA_H */
