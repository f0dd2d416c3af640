/* SPDX-License-Identifier: GPL-2.0 */
/*
 * labdma - driver-internal interfaces
 *
 * Layers (the dw-edma split):
 *   labdma_engine.c  the engine core: rings, requests, completion, recovery
 *   labdma_core.c    the device core: gate, interrupts, DOINT, registers,
 *                    resets, statistics
 *   labdma_pci.c     the PCI glue: probe/remove, vectors, PM, AER, FLR
 *   labdma_ubuf.c    user memory: pin, sg_table, DMA map, segments
 *   labdma_cdev.c    the char device door (/dev/labdmaN)
 * The two cores know neither files nor PCI: requests report to a callback
 * and a device that does not stop is handed to the glue (ld->cut_off).
 */
#ifndef _LABDMA_DRV_H
#define _LABDMA_DRV_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <linux/labdma.h>

#include "labdma_compat.h"
#include "labdma_regs.h"

#define LABDMA_DRV_NAME		"labdma"
#define LABDMA_MAX_CHANNELS	8
#define LABDMA_TIMEOUT_MAX_MS	60000U
/* Time a channel gets to stop after ABORT before the device is cut off. */
#define LABDMA_ABORT_WAIT_US	10000U
#define LABDMA_RING_ENTRIES_MAX	4096U
#define LABDMA_QUEUE_DEPTH_MAX	1024U

struct labdma_dev;
struct labdma_chan;
struct labdma_req;

/* Called once per request, in process context, with no core lock held. */
typedef void (*labdma_done_fn)(struct labdma_req *req);

/* A contiguous piece of an operation, in the device's address space. */
struct labdma_seg {
	dma_addr_t src;
	dma_addr_t dst;
	u32 len;
};

/**
 * struct labdma_req - one operation handed to the engine
 * @op:        LABDMA_OP_*
 * @pattern:   FILL pattern
 * @segs:      the operation's pieces, in order; the engine splits each at
 *             the device's MAX_XFER
 * @nsegs:     entries in @segs (0 for NOP)
 * @timeout_ms: from submission to completion
 * @done:      completion callback (see labdma_done_fn)
 * @priv:      for the submitter
 * @status:    0, -EIO (@hw_error set), -ETIMEDOUT, -ENODEV or the
 *             error given to labdma_req_cancel()
 * @hw_error:  the device's error code (datasheet 8)
 * @bytes:     bytes completed
 * @result:    CRC32C of the whole source (CRC32C)
 *
 * The remaining fields belong to the engine, under the channel's lock.
 */
struct labdma_req {
	u16 op;
	u32 pattern;
	const struct labdma_seg *segs;
	unsigned int nsegs;
	unsigned int timeout_ms;
	labdma_done_fn done;
	void *priv;

	int status;
	u8 hw_error;
	u64 bytes;
	u32 result;

	struct list_head node;
	struct labdma_chan *ch;
	unsigned long deadline;
	int cancel_err;
	unsigned int fed_seg;	/* next piece to put on the ring */
	u32 fed_off;
	u64 fed_pos;		/* bytes fed, from the start */
	unsigned int done_seg;	/* first piece not yet completed */
	u32 done_off;
	unsigned int on_ring;	/* descriptors on the ring */
	bool fed_all;
};

/* What a ring slot holds: whose piece, how long. */
struct labdma_slot {
	struct labdma_req *req;
	u32 len;
};

enum labdma_chan_state {
	LABDMA_CHAN_OFF,	/* not programmed (probe, reset, suspend) */
	LABDMA_CHAN_RUNNING,
	LABDMA_CHAN_RECOVERING,	/* requests queue; nothing is fed */
	LABDMA_CHAN_DEAD,	/* removed or broken: requests fail */
};

/**
 * struct labdma_chan - one channel and its ring
 * @ld:       the device
 * @index:    channel number
 * @regs:     the channel's register block
 * @lock:     protects everything below it
 * @state:    enum labdma_chan_state
 * @ring:     coherent descriptor ring; @wb follows it
 * @wb:       the device writes HEAD here after each descriptor
 * @slots:    per ring entry: the request piece it carries
 * @head:     first slot not yet reaped
 * @tail:     next slot to write
 * @queue:    requests not yet finished, in submission order
 * @feed:     first request of @queue with pieces not on the ring yet
 * @service:  serialises reaping with recovery (IRQ thread, watchdog, resets)
 * @watchdog: lost interrupts and deadlines, armed while @queue is not empty
 * @irq_seen: an interrupt was handled since the watchdog's last run
 * @vector:   MSI-X vector of the channel's completions (0 if shared)
 */
struct labdma_chan {
	struct labdma_dev *ld;
	unsigned int index;
	void __iomem *regs;

	spinlock_t lock;	/* see kernel-doc above */
	enum labdma_chan_state state;
	struct labdma_desc *ring;
	dma_addr_t ring_dma;
	__le32 *wb;
	dma_addr_t wb_dma;
	struct labdma_slot *slots;
	unsigned int head;
	unsigned int tail;
	struct list_head queue;
	struct labdma_req *feed;
	bool irq_seen;

	struct mutex service;	/* see kernel-doc above */
	struct delayed_work watchdog;
	unsigned int vector;
};

/* One interrupt vector: the INT_STATUS bits it serves. */
struct labdma_vec {
	struct labdma_dev *ld;
	unsigned int index;
	u32 bits;
	atomic_t pending;
	char name[32];
};

struct labdma_counters {
	atomic64_t irqs;
	atomic64_t test_irqs;
	atomic64_t spurious_irqs;
	atomic64_t lost_irqs;
	atomic64_t descs;
	atomic64_t bytes;
	atomic64_t submits;
	atomic64_t errors;
	atomic64_t timeouts;
	atomic64_t channel_resets;
	atomic64_t recoveries;
};

struct labdma_variant {
	const char *name;
	u32 variant;		/* LABDMA_VARIANT_* */
	unsigned int min_channels;
	unsigned int max_channels;
	u32 ops_mask;
	bool msix;
	u32 max_xfer;
	resource_size_t bar0_len;
};

/**
 * struct labdma_dev - one labdma PCI function
 * @dev:          the class device (/dev/labdmaN, sysfs); its refcount owns
 *                this structure
 * @dma_dev:      the device DMA is mapped for (the PCI function)
 * @cut_off:      glue: stop the device's bus mastering and recover it
 * @state_lock:   protects @dead, @paused, @broken, @active
 * @reset_sem:    channel service (read) vs whole-device resets (write)
 * @reg_lock:     REG_READ/REG_WRITE and the latched counter pairs
 * @test_lock:    protects @test_gen and @test_seen
 * @unmasked:     INT_STATUS sources the driver has unmasked
 */
struct labdma_dev {
	struct device dev;
	struct cdev cdev;
	struct pci_dev *pdev;
	struct device *dma_dev;
	void (*cut_off)(struct labdma_dev *ld);
	struct delayed_work recover_work;
	struct delayed_work aer_work;
	void __iomem *regs;
	int index;
	const struct labdma_variant *variant;
	u16 vendor;
	u16 device;

	u32 hw_version;
	u32 cap;
	u32 max_xfer;
	u32 ops_mask;
	unsigned int nr_channels;
	unsigned int ring_entries;
	unsigned int dma_bits;
	unsigned int irq_mode;
	unsigned int nr_vectors;
	u32 unmasked;

	/* fault injection (debugfs): the next N descriptors' destination */
	atomic_t inject_bad_dst;
	dma_addr_t bad_dma_addr;	/* glue: an address the device cannot write */

	/* tunables (sysfs) */
	unsigned int timeout_ms;
	unsigned int queue_depth;
	u64 max_async;
	unsigned int coalesce_count;
	unsigned int coalesce_usecs;
	unsigned int lost_irq_ms;

	spinlock_t state_lock;	/* see kernel-doc above */
	bool dead;
	bool paused;
	bool broken;
	unsigned int active;
	wait_queue_head_t state_wq;

	struct rw_semaphore reset_sem;	/* see kernel-doc above */
	spinlock_t reg_lock;	/* see kernel-doc above */

	spinlock_t test_lock;	/* see kernel-doc above */
	u64 test_gen;
	u64 test_seen[8];
	wait_queue_head_t test_wq;

	struct labdma_chan chan[LABDMA_MAX_CHANNELS];
	struct labdma_vec *vecs;
	atomic_t next_chan;

	struct mutex files_lock;	/* protects @files */
	struct list_head files;

	struct dentry *debugfs;
	struct labdma_counters stats;
};

static inline struct labdma_dev *to_labdma_dev(struct device *dev)
{
	return container_of(dev, struct labdma_dev, dev);
}

static inline u32 labdma_rd(struct labdma_dev *ld, u32 reg)
{
	return readl(ld->regs + reg);
}

static inline void labdma_wr(struct labdma_dev *ld, u32 reg, u32 val)
{
	writel(val, ld->regs + reg);
}

static inline u32 labdma_ch_rd(struct labdma_chan *ch, u32 reg)
{
	return readl(ch->regs + reg);
}

static inline void labdma_ch_wr(struct labdma_chan *ch, u32 reg, u32 val)
{
	writel(val, ch->regs + reg);
}

/* labdma_engine.c: channels and requests */
void labdma_chan_early_init(struct labdma_chan *ch);
int labdma_chan_init(struct labdma_dev *ld, unsigned int index);
void labdma_chan_start(struct labdma_chan *ch);
void labdma_chan_service(struct labdma_chan *ch, bool from_irq);
int labdma_chan_reset(struct labdma_chan *ch);
void labdma_chan_stop(struct labdma_chan *ch, struct list_head *done);
void labdma_complete(struct list_head *done);
void labdma_chan_fail_all(struct labdma_chan *ch, int err);
int labdma_submit(struct labdma_chan *ch, struct labdma_req *req);
void labdma_req_cancel(struct labdma_req *req, int err);
int labdma_op_check(struct labdma_dev *ld, u32 op, u64 len);
void labdma_chan_dump(struct labdma_chan *ch, struct seq_file *s);

/* labdma_core.c: the device */
void labdma_dev_init(struct labdma_dev *ld);
int labdma_identify(struct labdma_dev *ld, bool quiet);
void labdma_hw_start(struct labdma_dev *ld);
void labdma_hw_stop(struct labdma_dev *ld);
int labdma_enter(struct labdma_dev *ld, bool nonblock);
void labdma_leave(struct labdma_dev *ld);
unsigned int labdma_kill(struct labdma_dev *ld);
void labdma_drain(struct labdma_dev *ld);
int labdma_pause(struct labdma_dev *ld, unsigned int ms);
void labdma_resume(struct labdma_dev *ld, bool ok);
void labdma_mark_broken(struct labdma_dev *ld);
void labdma_fail_queued(struct labdma_dev *ld, int err);
struct labdma_chan *labdma_chan_pick(struct labdma_dev *ld, u32 index);
irqreturn_t labdma_irq_hard(int irq, void *data);
irqreturn_t labdma_irq_thread(int irq, void *data);
int labdma_doint(struct labdma_dev *ld, u32 bits, unsigned int ms,
		 u64 *count, u64 *ns);
int labdma_reg_read(struct labdma_dev *ld, u32 off, u32 *val);
int labdma_reg_write(struct labdma_dev *ld, u32 off, u32 val);
int labdma_dev_reset(struct labdma_dev *ld);
void labdma_get_stats(struct labdma_dev *ld, struct labdma_stats *st);

/* labdma_ubuf.c: user memory for one operation */
struct labdma_ubuf;
struct labdma_ubuf *labdma_ubuf_map(struct labdma_dev *ld, u32 op, u64 src,
				    u64 dst, u64 len);
const struct labdma_seg *labdma_ubuf_segs(struct labdma_ubuf *ub,
					  unsigned int *nsegs);
void labdma_ubuf_unmap(struct labdma_ubuf *ub, bool written);

/* labdma_cdev.c */
extern const struct file_operations labdma_fops;
void labdma_files_hangup(struct labdma_dev *ld);

/* labdma_sysfs.c */
extern const struct attribute_group *labdma_groups[];

/* labdma_debugfs.c */
void labdma_debugfs_init(void);
void labdma_debugfs_exit(void);
void labdma_debugfs_add(struct labdma_dev *ld);
void labdma_debugfs_remove(struct labdma_dev *ld);

#endif /* _LABDMA_DRV_H */
