/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * User-space ABI of the edu driver (QEMU "edu" PCI device, 1234:11e8).
 *
 * One character device per PCI device: /dev/eduN.
 *
 *   read/pread, write/pwrite  file offset = offset in the device's DMA buffer;
 *                             data moves by real DMA; short counts at the end
 *                             of the usable window (edu_identify.dma_window).
 *   mmap                      a per-open coherent staging buffer of
 *                             edu_identify.staging_size bytes (offset 0 only).
 *   poll/select/epoll         EPOLLIN when an asynchronous operation started on
 *                             this open file has completed (EDU_IOC_COMPLETE).
 *   ioctl                     below.
 *
 * All structures have fixed-width fields, natural alignment and explicit
 * padding, so 32-bit and 64-bit callers share one layout (compat_ioctl is a
 * pass-through). Every "reserved" field and every unknown flag bit must be
 * zero on input (else -EINVAL) and is zero on output. Pointers are __u64.
 *
 * Documentation/ in this repository (docs/uapi.md) has the full semantics.
 */
#ifndef _UAPI_LINUX_EDU_H
#define _UAPI_LINUX_EDU_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define EDU_IOC_MAGIC 0xED

/* struct edu_identify.irq_mode */
#define EDU_IRQ_MODE_INTX	0
#define EDU_IRQ_MODE_MSI	1

/* struct edu_identify.caps */
#define EDU_CAP_FACTORIAL_IRQ	(1U << 0)	/* factorial raises IRQ 0x001 */
#define EDU_CAP_DMA		(1U << 1)	/* DMA engine usable */
#define EDU_CAP_ASYNC		(1U << 2)	/* EDU_OP_ASYNC accepted */

/**
 * struct edu_identify - EDU_IOC_IDENTIFY (output only)
 * @id_register:   raw identification register (0x010000ed on QEMU)
 * @major:         device major version (bits 31:24 of @id_register)
 * @minor:         device minor version (bits 23:16 of @id_register)
 * @index:         N of /dev/eduN
 * @irq_mode:      EDU_IRQ_MODE_*
 * @dma_mask_bits: DMA mask width the driver set on the device
 * @dma_window:    bytes usable at the start of the device's DMA buffer
 * @staging_size:  size of the mmap-able per-open staging buffer
 * @caps:          EDU_CAP_*
 * @reserved:      zero
 */
struct edu_identify {
	__u32 id_register;
	__u16 major;
	__u16 minor;
	__u32 index;
	__u32 irq_mode;
	__u32 dma_mask_bits;
	__u32 dma_window;
	__u32 staging_size;
	__u32 caps;
	__u64 reserved[4];
};

/**
 * struct edu_liveness - EDU_IOC_LIVENESS
 * @value:    in: written to the liveness register (0x04)
 * @inverted: out: read back; the device returns ~@value
 * @reserved: zero
 */
struct edu_liveness {
	__u32 value;
	__u32 inverted;
	__u64 reserved;
};

/* Operation flags shared by EDU_IOC_FACTORIAL, EDU_IOC_DMA_STAGING. */
#define EDU_WAIT_DEFAULT	0x0	/* the device's wait_mode (sysfs) */
#define EDU_WAIT_IRQ		0x1	/* sleep until the completion interrupt */
#define EDU_WAIT_POLL		0x2	/* poll the status register */
#define EDU_WAIT_HYBRID		0x3	/* poll briefly, then sleep on the IRQ */
#define EDU_WAIT_MASK		0x3
#define EDU_OP_ASYNC		(1U << 4)	/* start and return; see EDU_IOC_COMPLETE */
#define EDU_OP_FLAGS_VALID	(EDU_WAIT_MASK | EDU_OP_ASYNC)

/**
 * struct edu_factorial - EDU_IOC_FACTORIAL
 * @input:      in: n
 * @result:     out: n! modulo 2^32, as computed by the device
 * @flags:      in: EDU_WAIT_* | EDU_OP_ASYNC
 * @timeout_ms: in: 0 = the device's default (sysfs timeout_ms)
 * @reserved:   zero
 */
struct edu_factorial {
	__u32 input;
	__u32 result;
	__u32 flags;
	__u32 timeout_ms;
	__u64 reserved;
};

/**
 * struct edu_raise_irq - EDU_IOC_RAISE_IRQ
 * @status:    in: interrupt status bits to raise (0x60); must be non-zero and
 *             must not use the bits the driver reserves for its own
 *             completions (EDU_IRQ_FACTORIAL, EDU_IRQ_DMA)
 * @flags:     in: zero
 * @irq_count: out: per-device count of delivered interrupts after the IRQ for
 *             @status was handled (the call waits for it)
 * @reserved:  zero
 */
struct edu_raise_irq {
	__u32 status;
	__u32 flags;
	__u64 irq_count;
	__u64 reserved;
};

#define EDU_IRQ_FACTORIAL	0x00000001U
#define EDU_IRQ_DMA		0x00000100U

/* struct edu_dma_staging.direction, struct edu_dma_user.direction */
#define EDU_DMA_TO_DEVICE	1	/* memory -> device buffer */
#define EDU_DMA_FROM_DEVICE	2	/* device buffer -> memory */
#define EDU_DMA_LOOPBACK	3	/* user src -> device -> user dst (user only) */

/**
 * struct edu_dma_staging - EDU_IOC_DMA_STAGING: staging buffer <-> device
 * @direction:      EDU_DMA_TO_DEVICE or EDU_DMA_FROM_DEVICE
 * @flags:          EDU_WAIT_* | EDU_OP_ASYNC
 * @staging_offset: offset in this open file's staging buffer
 * @device_offset:  offset in the device's DMA buffer
 * @length:         bytes; 1..dma_window, both ranges must fit
 * @reserved:       zero
 */
struct edu_dma_staging {
	__u32 direction;
	__u32 flags;
	__u64 staging_offset;
	__u64 device_offset;
	__u64 length;
	__u64 reserved[2];
};

/**
 * struct edu_dma_user - EDU_IOC_DMA_USER: pinned user memory <-> device
 * @direction:     EDU_DMA_TO_DEVICE (@src used), EDU_DMA_FROM_DEVICE (@dst
 *                 used) or EDU_DMA_LOOPBACK (both: @src is streamed through
 *                 the device buffer into @dst, in window-sized chunks)
 * @flags:         zero
 * @src:           user address, any alignment
 * @dst:           user address, any alignment
 * @length:        bytes; for TO/FROM_DEVICE the transfer stops at the end of
 *                 the window (short count); LOOPBACK takes any length
 * @device_offset: offset in the device buffer (TO/FROM_DEVICE); zero for
 *                 LOOPBACK
 * @done:          out: bytes completed. Also set when the call fails part-way
 *                 (e.g. -EINTR): that many bytes reached their destination.
 * @reserved:      zero
 */
struct edu_dma_user {
	__u32 direction;
	__u32 flags;
	__u64 src;
	__u64 dst;
	__u64 length;
	__u64 device_offset;
	__u64 done;
	__u64 reserved[2];
};

/* struct edu_completion.op */
#define EDU_COMPLETION_FACTORIAL	1
#define EDU_COMPLETION_DMA		2

/**
 * struct edu_completion - EDU_IOC_COMPLETE (output only)
 * @op:       EDU_COMPLETION_* of the finished asynchronous operation
 * @status:   0 or a negative errno (e.g. -ETIMEDOUT)
 * @result:   factorial result; bytes transferred for DMA
 * @reserved: zero
 *
 * Returns -EAGAIN if the open file's asynchronous operation has not finished
 * (with a blocking file descriptor it waits instead), -ENODATA if none is in
 * flight and no completion is pending.
 */
struct edu_completion {
	__u32 op;
	__s32 status;
	__u64 result;
	__u64 reserved[2];
};

/**
 * struct edu_reg - EDU_IOC_REG_READ / EDU_IOC_REG_WRITE (CAP_SYS_ADMIN)
 * @offset:   BAR0 register offset, naturally aligned to @width
 * @width:    4, or 8 at offsets >= 0x80
 * @flags:    zero
 * @value:    in (write) / out (read)
 * @reserved: zero
 *
 * For debugging only. The DMA registers (0x80..0x9f) are refused (-EPERM),
 * and so are writes to the other registers the driver owns (factorial,
 * status, interrupt registers); docs/uapi.md lists the allowed offsets.
 */
struct edu_reg {
	__u32 offset;
	__u32 width;
	__u32 flags;
	__u32 __pad;
	__u64 value;
	__u64 reserved;
};

/**
 * struct edu_stats - EDU_IOC_STATS (output only): per-device counters
 */
struct edu_stats {
	__u64 irqs;
	__u64 factorial_ops;
	__u64 dma_ops;
	__u64 dma_bytes;
	__u64 errors;
	__u64 timeouts;
	__u64 reserved[4];
};

#define EDU_IOC_IDENTIFY	_IOR(EDU_IOC_MAGIC, 0x00, struct edu_identify)
#define EDU_IOC_LIVENESS	_IOWR(EDU_IOC_MAGIC, 0x01, struct edu_liveness)
#define EDU_IOC_FACTORIAL	_IOWR(EDU_IOC_MAGIC, 0x02, struct edu_factorial)
#define EDU_IOC_RAISE_IRQ	_IOWR(EDU_IOC_MAGIC, 0x03, struct edu_raise_irq)
#define EDU_IOC_DMA_STAGING	_IOW(EDU_IOC_MAGIC, 0x04, struct edu_dma_staging)
#define EDU_IOC_DMA_USER	_IOWR(EDU_IOC_MAGIC, 0x05, struct edu_dma_user)
#define EDU_IOC_COMPLETE	_IOR(EDU_IOC_MAGIC, 0x06, struct edu_completion)
#define EDU_IOC_STATS		_IOR(EDU_IOC_MAGIC, 0x07, struct edu_stats)
#define EDU_IOC_REG_READ	_IOWR(EDU_IOC_MAGIC, 0x08, struct edu_reg)
#define EDU_IOC_REG_WRITE	_IOW(EDU_IOC_MAGIC, 0x09, struct edu_reg)

#endif /* _UAPI_LINUX_EDU_H */
