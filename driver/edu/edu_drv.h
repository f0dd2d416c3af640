/* SPDX-License-Identifier: GPL-2.0 */
/*
 * edu - driver for QEMU's "edu" educational PCI device (1234:11e8)
 *
 * Internal definitions shared by the layers of the driver, each of which
 * only calls the ones below it:
 *
 *   edu_pci.c                PCI glue: probe/remove run the sequences,
 *                            power management, reset and error recovery
 *   edu_cdev.c, edu_dma_user.c
 *                            character device: files, ioctls, user memory
 *   edu_sysfs.c, edu_debugfs.c
 *                            observability, policy knobs, fault injection
 *   edu_core.c               operations: the gate, claims, interrupts,
 *                            asynchronous operations (knows no files, no PCI)
 *   edu_engine.c             the hardware: registers, waits, the factorial
 *                            unit and the DMA engine
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
#include <linux/lockdep.h>
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

#define EDU_HYBRID_SPIN_MAX_US	10000U

struct edu_dev;

/*
 * Completion of an asynchronous operation (the dmaengine callback_result
 * pattern): called exactly once, from hardirq, a workqueue or the canceller,
 * with no driver lock held.  @op is EDU_COMPLETION_FACTORIAL or _DMA.
 */
typedef void (*edu_done_fn)(void *cookie, u32 op, int status, u64 result);

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
 * @async_cookie:  owner of the asynchronous operation in flight, or NULL
 * @async_done:    its completion callback
 * @async_deadline: jiffies when the asynchronous operation times out
 * @async_arg:     factorial input or DMA length of that operation
 * @timeout_work:  times the asynchronous operation out
 * @stuck:         fault injection: the unit reads busy until reset
 * @claim_map:     the claim as lockdep sees it (a mutex)
 */
struct edu_unit {
	struct edu_dev *edu;
	spinlock_t lock;	/* see kernel-doc above */
	bool busy;
	bool handoff;
	bool is_dma;
	wait_queue_head_t claim_wq;
	wait_queue_head_t done_wq;
	void *async_cookie;
	edu_done_fn async_done;
	unsigned long async_deadline;
	u32 async_arg;
	struct delayed_work timeout_work;
	bool stuck;
	struct lockdep_map claim_map;
};

/**
 * struct edu_counters - per-device statistics (EDU_IOC_STATS and sysfs)
 * @irqs:          interrupts handled (status register was non-zero)
 * @factorial_ops: factorials computed
 * @dma_ops:       device DMA transfers completed
 * @dma_bytes:     bytes moved by those transfers
 * @errors:        operations failed by a device or driver error
 * @timeouts:      operations that timed out
 * @recoveries:    automatic recoveries of a stuck device by a reset
 */
struct edu_counters {
	atomic64_t irqs;
	atomic64_t factorial_ops;
	atomic64_t dma_ops;
	atomic64_t dma_bytes;
	atomic64_t errors;
	atomic64_t timeouts;
	atomic64_t recoveries;
};

/**
 * struct edu_dev - one edu PCI function
 * @dev:           class device /sys/class/edu/eduN; holds the refcount
 * @cdev:          /dev/eduN
 * @pdev:          PCI device; used by the PCI glue only
 * @dma_dev:       the device DMA mappings are made for (&@pdev->dev)
 * @cut_off:       PCI glue: stop the device's bus mastering and schedule
 *                 its recovery; called by the core when the DMA engine
 *                 does not stop
 * @recover_work:  PCI glue: resets a broken device
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
 * @wait_mode:     wait used for EDU_WAIT_DEFAULT (sysfs wait_mode)
 * @hybrid_spin_us: polling budget of hybrid waits (sysfs hybrid_spin_us)
 * @timeout_ms:    default operation timeout (sysfs timeout_ms)
 * @inject_dma_stuck: fault injection (debugfs): transfers to treat as stuck
 * @inject_map_error: fault injection (debugfs): DMA mappings to fail
 * @state_lock:    protects @dead, @suspended, @broken and @active
 * @dead:          removed; every operation fails with -ENODEV
 * @suspended:     between suspend and resume, or around a function reset;
 *                 new hardware sections wait
 * @broken:        hardware unusable (stuck DMA, bad ID after resume)
 * @active:        gate sections in progress (incl. asynchronous operations)
 * @reset_unclean: a function reset began with operations still running
 * @state_wq:      waiters for @active to drain or @suspended to clear
 * @gate_map:      the gate as lockdep sees it (a reader/writer lock)
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
	struct device *dma_dev;
	void (*cut_off)(struct edu_dev *edu);
	struct delayed_work recover_work;
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
	unsigned int wait_mode;
	unsigned int hybrid_spin_us;
	unsigned int timeout_ms;
	atomic_t inject_dma_stuck;
	atomic_t inject_map_error;

	spinlock_t state_lock;	/* see kernel-doc above */
	bool dead;
	bool suspended;
	bool broken;
	unsigned int active;
	bool reset_unclean;
	wait_queue_head_t state_wq;
	struct lockdep_map gate_map;

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

static inline u32 edu_rd(struct edu_dev *edu, u32 reg)
{
	return readl(edu->regs + reg);
}

static inline void edu_wr(struct edu_dev *edu, u32 reg, u32 val)
{
	writel(val, edu->regs + reg);
}

static inline bool edu_is_dead(struct edu_dev *edu)
{
	return READ_ONCE(edu->dead);
}

/* edu_engine.c: the hardware; callers hold the unit's claim where it has one */
u64 edu_read64(struct edu_dev *edu, u32 reg);
bool edu_id_supported(u32 id);
void edu_hw_init(struct edu_dev *edu);
void edu_hw_quiesce(struct edu_dev *edu);
int edu_unit_hw_idle(struct edu_dev *edu, struct edu_unit *u);
int edu_wait_idle(struct edu_dev *edu, struct edu_unit *u, unsigned int mode,
		  unsigned long deadline, bool intr);
int edu_fact_settle(struct edu_dev *edu, bool nonblock);
void edu_fact_kick(struct edu_dev *edu, u32 input, bool irq);
int edu_dma_program(struct edu_dev *edu, dma_addr_t addr, u32 dev_off,
		    u32 len, bool to_device, bool irq);
int edu_dma_drain(struct edu_dev *edu);

/* edu_core.c: device state and gate */
void edu_dev_init(struct edu_dev *edu);
int edu_enter(struct edu_dev *edu, unsigned int flags);
void edu_leave(struct edu_dev *edu);
unsigned int edu_kill(struct edu_dev *edu);
void edu_drain(struct edu_dev *edu);
int edu_drain_timeout(struct edu_dev *edu, unsigned int ms);
int edu_gate_close(struct edu_dev *edu, unsigned int ms);
int edu_suspend_drain(struct edu_dev *edu);
void edu_gate_open(struct edu_dev *edu, bool ok);
unsigned int edu_resolve_wait(struct edu_dev *edu, u32 flags);

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
int edu_bounce_rw(struct edu_dev *edu, void *buf, u32 dev_off, u32 len,
		  bool to_device, bool nonblock);
int edu_dma(struct edu_dev *edu, dma_addr_t addr, u32 dev_off, u32 len,
	    bool to_device, unsigned int mode, bool nonblock);

/* edu_core.c: a transfer; caller holds the DMA claim inside a gate section */
int edu_dma_xfer(struct edu_dev *edu, dma_addr_t addr, u32 dev_off, u32 len,
		 bool to_device, unsigned int mode);

/* edu_core.c: asynchronous operations (@done is called once, always) */
int edu_factorial_async(struct edu_dev *edu, u32 input,
			unsigned int timeout_ms, bool nonblock,
			edu_done_fn done, void *cookie);
int edu_dma_async(struct edu_dev *edu, dma_addr_t addr, u32 dev_off, u32 len,
		  bool to_device, bool nonblock, edu_done_fn done,
		  void *cookie);
void edu_async_cancel(struct edu_dev *edu, void *cookie);

/* edu_cdev.c */
extern const struct file_operations edu_fops;
void edu_files_hangup(struct edu_dev *edu);
void edu_files_teardown(struct edu_dev *edu);

/* edu_dma_user.c */
long edu_ioctl_dma_user(struct edu_file *ef, void __user *uarg);

/* edu_sysfs.c */
extern const struct attribute_group *edu_groups[];

/* edu_debugfs.c */
void edu_debugfs_init(void);
void edu_debugfs_exit(void);
void edu_debugfs_add(struct edu_dev *edu);
void edu_debugfs_remove(struct edu_dev *edu);

#endif /* _EDU_DRV_H */
