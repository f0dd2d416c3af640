/* SPDX-License-Identifier: GPL-2.0 */
/*
 * edu - driver for QEMU's "edu" educational PCI device (1234:11e8)
 *
 * Internal definitions shared by the core (edu_core.c), the character device
 * glue (edu_cdev.c, edu_dma_user.c), the PCI glue (edu_pci.c) and the
 * observability code (edu_sysfs.c, edu_debugfs.c).
 *
 * Lifetime and locking in one place (details next to each function):
 *
 *  - struct edu_dev is refcounted through its embedded class device @dev.
 *    The PCI driver holds one reference from probe to the end of remove,
 *    every open file holds one, and the cdev (embedded, parented to @dev)
 *    pins @dev while the kernel looks files up.  The memory is freed by
 *    edu_dev_release() when the last reference goes.
 *
 *  - Every access to the hardware or to the DMA API happens inside a
 *    "gate" section (edu_enter()/edu_leave()).  remove marks the device dead,
 *    wakes every sleeper and waits for all gate sections to drain before it
 *    frees the IRQ, the DMA buffers and lets the BAR be unmapped.  Suspend
 *    marks the device suspended (new hardware sections wait) and drains in
 *    the same way.
 *
 *  - The factorial unit and the DMA engine are each serialised by a
 *    "claim" (struct edu_unit), a spinlock protected busy flag with an
 *    exclusive wait queue.  A claim can be released from interrupt context,
 *    which is how asynchronous operations hand it back.  Lock/claim order:
 *    gate -> claim -> unit lock.  No spinlock is held across a sleep.
 */
#ifndef _EDU_DRV_H
#define _EDU_DRV_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <linux/edu.h>

#include "edu_compat.h"

#define EDU_DRV_NAME		"edu"

/* BAR0 registers */
#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_FACTORIAL	0x08
#define EDU_REG_STATUS		0x20
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_REG_DMA_END		0xa0	/* first offset past the DMA block */

#define EDU_BAR0_MIN_LEN	0x100

/* EDU_REG_ID */
#define EDU_ID_MAGIC_MASK	0x0000ffffU
#define EDU_ID_MAGIC		0x000000edU
#define EDU_ID_MAJOR(id)	((id) >> 24)
#define EDU_ID_MINOR(id)	(((id) >> 16) & 0xff)
#define EDU_ID_KNOWN_MAJOR	1

/* EDU_REG_STATUS */
#define EDU_STATUS_BUSY		BIT(0)
#define EDU_STATUS_IRQ		BIT(7)

/* EDU_REG_DMA_CMD */
#define EDU_DMA_CMD_START	BIT(0)
#define EDU_DMA_CMD_TO_RAM	BIT(1)	/* device buffer -> RAM */
#define EDU_DMA_CMD_IRQ		BIT(2)

/* The device's DMA buffer, as seen through the DMA address registers */
#define EDU_DMA_BUF_ADDR	0x40000
#define EDU_DMA_BUF_SIZE	4096
/*
 * QEMU <= 9.0 aborts on a transfer touching the last byte of the buffer
 * (and on zero-length or over-long ones): only [0, 4095) is usable.
 */
#define EDU_DMA_WINDOW		(EDU_DMA_BUF_SIZE - 1)

#define EDU_DRIVER_IRQS		(EDU_IRQ_FACTORIAL | EDU_IRQ_DMA)

#define EDU_TIMEOUT_MAX_MS	60000U
#define EDU_RAISE_TIMEOUT_MS	1000U
/* A DMA transfer takes 100 ms of virtual time; allow generous slack. */
#define EDU_DMA_DRAIN_MS	2000U
#define EDU_SUSPEND_DRAIN_MS	15000U
#define EDU_STAGING_MAX		SZ_1M
/* Default coherent memory all open files of one device may hold. */
#define EDU_STAGING_BUDGET	SZ_4M

/* module parameters (edu_pci.c) */
extern unsigned int edu_dma_bits;
extern bool edu_force_intx;
extern unsigned int edu_wait_mode;
extern unsigned int edu_hybrid_spin_us;
extern unsigned int edu_timeout_ms;
extern unsigned int edu_staging_size;

/* module globals (edu_pci.c) */
extern struct dentry *edu_debugfs_root;

struct edu_dev;
struct edu_file;

/**
 * struct edu_unit - one serialised hardware unit (factorial or DMA engine)
 * @edu:           owning device
 * @lock:          protects @busy, @handoff and the @async_* fields; taken
 *                 from hardirq
 * @busy:          claimed by an operation (sync or async)
 * @handoff:       a woken waiter lost the unit to a newcomer: only waiters
 *                 that have slept may claim it next
 * @is_dma:        this is the DMA engine (else the factorial unit)
 * @claim_wq:      operations waiting to claim the unit (exclusive waits)
 * @done_wq:       sleepers waiting for the unit's completion interrupt
 * @async_file:    owner of the asynchronous operation in flight, or NULL
 * @async_deadline: jiffies when the asynchronous operation times out
 * @async_arg:     factorial input or DMA length of that operation
 * @timeout_work:  times the asynchronous operation out
 */
struct edu_unit {
	struct edu_dev *edu;
	spinlock_t lock;	/* see kernel-doc above */
	bool busy;
	bool handoff;
	bool is_dma;
	wait_queue_head_t claim_wq;
	wait_queue_head_t done_wq;
	struct edu_file *async_file;
	unsigned long async_deadline;
	u32 async_arg;
	struct delayed_work timeout_work;
};

/**
 * struct edu_counters - per-device statistics (EDU_IOC_STATS and sysfs)
 * @irqs:          interrupts handled (status register was non-zero)
 * @factorial_ops: factorials computed
 * @dma_ops:       device DMA transfers completed
 * @dma_bytes:     bytes moved by those transfers
 * @errors:        operations failed by a device or driver error
 * @timeouts:      operations that timed out
 */
struct edu_counters {
	atomic64_t irqs;
	atomic64_t factorial_ops;
	atomic64_t dma_ops;
	atomic64_t dma_bytes;
	atomic64_t errors;
	atomic64_t timeouts;
};

/**
 * struct edu_dev - one edu PCI function
 * @dev:           class device /sys/class/edu/eduN; holds the refcount
 * @cdev:          /dev/eduN
 * @pdev:          PCI device; only dereferenced inside a gate section
 * @regs:          BAR0; only dereferenced inside a gate section or the ISR
 * @index:         N of eduN (from edu_ida)
 * @id_register:   identification register as read at probe/resume
 * @irq:           Linux IRQ number
 * @msi:           @irq is an MSI vector (else INTx)
 * @dma_bits:      width of the DMA mask set on @pdev
 * @dma_mask:      DMA_BIT_MASK(@dma_bits)
 * @staging_size:  size of each per-open staging buffer
 * @staging_budget: bytes of staging buffers all open files may hold
 *                 (sysfs staging_budget)
 * @staging_used:  bytes of staging buffers allocated now
 * @state_lock:    protects @dead, @suspended, @broken and @active
 * @dead:          removed; every operation fails with -ENODEV
 * @suspended:     between suspend and resume, or around a function reset;
 *                 new hardware sections wait
 * @broken:        hardware unusable (stuck DMA, bad ID after resume)
 * @active:        gate sections in progress (incl. asynchronous operations)
 * @reset_unclean: a function reset began with operations still running
 * @state_wq:      waiters for @active to drain or @suspended to clear
 * @fact:          factorial unit
 * @dma:           DMA engine
 * @reg_lock:      serialises write+read pairs on the liveness register
 * @irq_live:      the ISR may touch the device
 * @irq_lock:      protects @irq_gen and @irq_seen
 * @irq_gen:       number of ISR runs that saw a non-driver status bit
 * @irq_seen:      per status bit, the @irq_gen it was last seen at
 * @raise_wq:      EDU_IOC_RAISE_IRQ callers waiting for their bits
 * @bounce:        coherent buffer for read/write and unreachable pages
 * @bounce_dma:    its DMA address
 * @files_lock:    protects @files and the staging buffers of those files
 * @files:         open files (struct edu_file.node)
 * @debugfs:       debugfs directory edu/eduN
 * @stats:         counters
 */
struct edu_dev {
	struct device dev;
	struct cdev cdev;
	struct pci_dev *pdev;
	void __iomem *regs;
	int index;
	u32 id_register;
	int irq;
	bool msi;
	unsigned int dma_bits;
	u64 dma_mask;
	size_t staging_size;
	unsigned long staging_budget;
	atomic_long_t staging_used;

	spinlock_t state_lock;	/* see kernel-doc above */
	bool dead;
	bool suspended;
	bool broken;
	unsigned int active;
	bool reset_unclean;
	wait_queue_head_t state_wq;

	struct edu_unit fact;
	struct edu_unit dma;

	spinlock_t reg_lock;	/* see kernel-doc above */

	bool irq_live;
	spinlock_t irq_lock;	/* see kernel-doc above */
	u64 irq_gen;
	u64 irq_seen[32];
	wait_queue_head_t raise_wq;

	void *bounce;
	dma_addr_t bounce_dma;

	struct mutex files_lock;	/* see kernel-doc above */
	struct list_head files;

	struct dentry *debugfs;
	struct edu_counters stats;
};

/**
 * struct edu_file - one open file of /dev/eduN
 * @edu:           device (a reference is held)
 * @node:          entry in edu->files
 * @mapping:       address space user mappings of the staging buffer live in
 * @staging_lock:  serialises allocation of the staging buffer
 * @staging:       coherent staging buffer (allocated on first use) or NULL
 * @staging_dma:   its DMA address
 * @async_lock:    protects @async_busy, @async_done and @async_result
 * @async_busy:    an asynchronous operation is in flight (or being started)
 * @async_done:    @async_result holds an unclaimed completion
 * @async_result:  result for EDU_IOC_COMPLETE
 * @wq:            poll/EDU_IOC_COMPLETE/release waiters
 * @fasync:        SIGIO subscribers
 */
struct edu_file {
	struct edu_dev *edu;
	struct list_head node;
	struct address_space *mapping;
	struct mutex staging_lock;	/* see kernel-doc above */
	void *staging;
	dma_addr_t staging_dma;
	spinlock_t async_lock;	/* see kernel-doc above */
	bool async_busy;
	bool async_done;
	struct edu_completion async_result;
	wait_queue_head_t wq;
	struct fasync_struct *fasync;
};

static inline struct edu_dev *to_edu_dev(struct device *dev)
{
	return container_of(dev, struct edu_dev, dev);
}

/* edu_enter() flags */
#define EDU_ENTER_HW		BIT(0)	/* touches registers: wait out suspend */
#define EDU_ENTER_NONBLOCK	BIT(1)	/* -EAGAIN instead of waiting */

/* edu_core.c: device state and gate */
void edu_dev_init(struct edu_dev *edu);
int edu_enter(struct edu_dev *edu, unsigned int flags);
void edu_leave(struct edu_dev *edu);
bool edu_is_dead(struct edu_dev *edu);
unsigned int edu_kill(struct edu_dev *edu);
void edu_drain(struct edu_dev *edu);
int edu_drain_timeout(struct edu_dev *edu, unsigned int ms);
int edu_gate_close(struct edu_dev *edu, unsigned int ms);
int edu_suspend_drain(struct edu_dev *edu);
void edu_resume_done(struct edu_dev *edu, bool ok);
void edu_reset_done(struct edu_dev *edu, bool ok);
void edu_hw_init(struct edu_dev *edu);
void edu_hw_quiesce(struct edu_dev *edu);
bool edu_id_supported(u32 id);
u64 edu_read64(struct edu_dev *edu, u32 reg);
unsigned int edu_resolve_wait(u32 flags);

/* edu_core.c: claims */
int edu_unit_claim(struct edu_dev *edu, struct edu_unit *u, bool nonblock);
void edu_unit_release(struct edu_dev *edu, struct edu_unit *u);

/* edu_core.c: interrupts */
irqreturn_t edu_irq_handler(int irq, void *data);
int edu_raise_irq(struct edu_dev *edu, u32 status, u64 *irq_count);

/* edu_core.c: operations; callers must not hold a gate section */
int edu_liveness(struct edu_dev *edu, u32 value, u32 *inverted);
int edu_reg_read(struct edu_dev *edu, u32 offset, u32 *value);
int edu_reg_write(struct edu_dev *edu, u32 offset, u32 value);
int edu_factorial(struct edu_dev *edu, u32 input, unsigned int mode,
		  unsigned int timeout_ms, bool nonblock, u32 *result);
int edu_factorial_async(struct edu_dev *edu, struct edu_file *ef, u32 input,
			unsigned int timeout_ms, bool nonblock);
int edu_bounce_rw(struct edu_dev *edu, void *buf, u32 dev_off, u32 len,
		  bool to_device, bool nonblock);
int edu_staging_dma(struct edu_dev *edu, struct edu_file *ef, u32 soff,
		    u32 dev_off, u32 len, bool to_device, unsigned int mode,
		    bool nonblock);
int edu_staging_dma_async(struct edu_dev *edu, struct edu_file *ef, u32 soff,
			  u32 dev_off, u32 len, bool to_device, bool nonblock);

/* edu_core.c: DMA engine; caller holds the DMA claim inside a gate section */
int edu_dma_xfer(struct edu_dev *edu, dma_addr_t addr, u32 dev_off, u32 len,
		 bool to_device, unsigned int mode);

/* edu_core.c: asynchronous operations */
int edu_file_async_reserve(struct edu_file *ef);
void edu_file_async_unreserve(struct edu_file *ef);
void edu_file_async_cancel(struct edu_file *ef);
void edu_file_post(struct edu_file *ef, u32 op, int status, u64 result);

/* edu_cdev.c */
extern const struct file_operations edu_fops;
void edu_files_hangup(struct edu_dev *edu);
void edu_files_teardown(struct edu_dev *edu);

/* edu_dma_user.c */
long edu_ioctl_dma_user(struct edu_file *ef, void __user *uarg);

/* edu_sysfs.c */
extern const struct attribute_group *edu_groups[];

/* edu_debugfs.c */
void edu_debugfs_add(struct edu_dev *edu);
void edu_debugfs_remove(struct edu_dev *edu);

#endif /* _EDU_DRV_H */
