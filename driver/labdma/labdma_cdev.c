// SPDX-License-Identifier: GPL-2.0
/*
 * labdma char device: /dev/labdmaN, one door onto the engine
 * (include/uapi/linux/labdma.h, docs/labdma/uapi.md).
 *
 * Synchronous operations of any size are streamed through the engine in
 * batches of at most LABDMA_SYNC_BATCH bytes, each pinned and mapped only
 * while its request is on the device.  Asynchronous ones (at most
 * max_async bytes) are owned by the open file: at most queue_depth of them
 * in flight or waiting to be fetched, ended by closing the file.
 */

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/completion.h>
#include <linux/crc32.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "labdma_drv.h"

#define LABDMA_SYNC_BATCH	SZ_4M
#define LABDMA_COMPLETE_MAX	1024U

struct labdma_file {
	struct labdma_dev *ld;
	struct list_head node;		/* in ld->files */
	spinlock_t lock;		/* protects the lists and counts */
	struct list_head inflight;
	struct list_head ready;
	unsigned int nr_inflight;
	unsigned int nr_ready;
	wait_queue_head_t wq;
};

/* An asynchronous operation of one open file. */
struct labdma_aop {
	struct labdma_req req;
	struct labdma_file *lf;
	struct labdma_ubuf *ub;
	struct list_head node;
	struct labdma_completion c;
};

struct labdma_sync {
	struct labdma_req req;
	struct completion done;
};

static bool labdma_reserved_zero(const __u64 *r, unsigned int n)
{
	while (n--)
		if (r[n])
			return false;
	return true;
}

static unsigned int labdma_timeout(struct labdma_dev *ld, u32 ms)
{
	return ms ? ms : READ_ONCE(ld->timeout_ms);
}

/* Same range, or no byte in common: both are fine; a partial overlap not. */
static bool labdma_ranges_ok(u32 op, u64 src, u64 dst, u64 len)
{
	if (op != LABDMA_OP_COPY && op != LABDMA_OP_MUL2 &&
	    op != LABDMA_OP_MUL4)
		return true;
	return src == dst || src + len <= dst || dst + len <= src;
}

/* What every SUBMIT-like request must satisfy before anything is pinned. */
static int labdma_check_args(struct labdma_dev *ld, u32 op, u64 src, u64 dst,
			     u64 len, u32 pattern, u32 timeout_ms)
{
	int ret = labdma_op_check(ld, op, len);

	if (ret)
		return ret;
	if (timeout_ms > LABDMA_TIMEOUT_MAX_MS)
		return -EINVAL;
	if ((op == LABDMA_OP_NOP || op == LABDMA_OP_CRC32C) && dst)
		return -EINVAL;
	if ((op == LABDMA_OP_FILL || op == LABDMA_OP_NOP) && src)
		return -EINVAL;
	if (op != LABDMA_OP_FILL && pattern)
		return -EINVAL;
	if ((op == LABDMA_OP_MUL2 || op == LABDMA_OP_MUL4) &&
	    ((src | dst) & 3))
		return -EINVAL;
	if (!labdma_ranges_ok(op, src, dst, len))
		return -EINVAL;
	return 0;
}

static void labdma_sync_done(struct labdma_req *req)
{
	struct labdma_sync *s = container_of(req, struct labdma_sync, req);

	complete(&s->done);
}

/*
 * One synchronous operation: every batch mapped, run and unmapped in turn.
 * The timeout bounds the whole operation; a signal cancels it (-EINTR) and
 * @done says how far it got.
 */
static int labdma_run_sync(struct labdma_dev *ld, bool nonblock, u32 op,
			   u64 src, u64 dst, u64 len, u32 pattern, u32 channel,
			   unsigned int timeout_ms, u64 *done, u32 *result,
			   s32 *hw_error)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	struct labdma_chan *ch = labdma_chan_pick(ld, channel);
	struct labdma_sync s;
	u64 pos = 0;
	int ret;

	*done = 0;
	*result = 0;
	*hw_error = 0;
	if (!ch)
		return -EINVAL;
	ret = labdma_enter(ld, nonblock);
	if (ret)
		return ret;
	do {
		u64 n = min_t(u64, len - pos, LABDMA_SYNC_BATCH);
		struct labdma_ubuf *ub = NULL;
		unsigned long wait;
		long left;

		memset(&s.req, 0, sizeof(s.req));
		if (n) {
			ub = labdma_ubuf_map(ld, op, src ? src + pos : 0,
					     dst ? dst + pos : 0, n);
			if (IS_ERR(ub)) {
				ret = PTR_ERR(ub);
				break;
			}
			s.req.segs = labdma_ubuf_segs(ub, &s.req.nsegs);
		}
		s.req.op = op;
		s.req.pattern = pattern;
		if (op == LABDMA_OP_FILL)	/* the pattern's phase at @pos */
			s.req.pattern = ror32(pattern, 8 * (pos & 3));
		s.req.timeout_ms = max_t(long, 1,
					 jiffies_to_msecs(deadline - jiffies));
		if (time_after_eq(jiffies, deadline))
			s.req.timeout_ms = 1;
		s.req.done = labdma_sync_done;
		init_completion(&s.done);
		ret = labdma_submit(ch, &s.req);
		if (ret) {
			if (ub)
				labdma_ubuf_unmap(ub, false);
			break;
		}
		/* the engine ends every request by its deadline; a margin */
		wait = msecs_to_jiffies(s.req.timeout_ms) + HZ;
		left = wait_for_completion_interruptible_timeout(&s.done, wait);
		if (left <= 0) {
			labdma_req_cancel(&s.req, left < 0 ? -EINTR :
					  -ETIMEDOUT);
			wait_for_completion(&s.done);
		}
		if (ub)
			labdma_ubuf_unmap(ub, true);
		if (op == LABDMA_OP_CRC32C && s.req.bytes)
			*result = pos ? __crc32c_le_combine(*result,
							    s.req.result,
							    s.req.bytes) :
					s.req.result;
		*done += s.req.bytes;
		ret = s.req.status;
		if (ret) {
			*hw_error = s.req.hw_error;
			break;
		}
		pos += n;
	} while (pos < len);
	labdma_leave(ld);
	return ret;
}

static void labdma_aop_done(struct labdma_req *req)
{
	struct labdma_aop *aop = container_of(req, struct labdma_aop, req);
	struct labdma_file *lf = aop->lf;
	struct labdma_dev *ld = lf->ld;
	unsigned long flags;

	labdma_ubuf_unmap(aop->ub, true);
	aop->ub = NULL;
	aop->c.done = req->bytes;
	aop->c.status = req->status;
	aop->c.result = req->result;
	aop->c.hw_error = req->hw_error;

	/* once this lock drops, release() may free @lf */
	spin_lock_irqsave(&lf->lock, flags);
	list_move_tail(&aop->node, &lf->ready);
	lf->nr_inflight--;
	lf->nr_ready++;
	wake_up_poll(&lf->wq, EPOLLIN | EPOLLOUT);
	spin_unlock_irqrestore(&lf->lock, flags);
	/* the device outlives its gate sections (remove drains them) */
	labdma_leave(ld);
}

static int labdma_submit_async(struct labdma_file *lf, bool nonblock,
			       const struct labdma_submit *a,
			       unsigned int timeout_ms)
{
	struct labdma_dev *ld = lf->ld;
	struct labdma_chan *ch = labdma_chan_pick(ld, a->channel);
	struct labdma_aop *aop;
	int ret;

	if (!ch)
		return -EINVAL;
	if (a->len > READ_ONCE(ld->max_async) || a->op == LABDMA_OP_NOP)
		return -EINVAL;
	aop = kzalloc(sizeof(*aop), GFP_KERNEL);
	if (!aop)
		return -ENOMEM;
	aop->lf = lf;
	aop->c.user_data = a->user_data;

	spin_lock_irq(&lf->lock);
	if (lf->nr_inflight + lf->nr_ready >= READ_ONCE(ld->queue_depth)) {
		spin_unlock_irq(&lf->lock);
		kfree(aop);
		return -EBUSY;
	}
	lf->nr_inflight++;
	list_add_tail(&aop->node, &lf->inflight);
	spin_unlock_irq(&lf->lock);

	ret = labdma_enter(ld, nonblock);
	if (ret)
		goto err_unreserve;
	aop->ub = labdma_ubuf_map(ld, a->op, a->src, a->dst, a->len);
	if (IS_ERR(aop->ub)) {
		ret = PTR_ERR(aop->ub);
		goto err_leave;
	}
	aop->req.segs = labdma_ubuf_segs(aop->ub, &aop->req.nsegs);
	aop->req.op = a->op;
	aop->req.pattern = a->pattern;
	aop->req.timeout_ms = timeout_ms;
	aop->req.done = labdma_aop_done;
	INIT_LIST_HEAD(&aop->req.node);
	ret = labdma_submit(ch, &aop->req);
	if (ret)
		goto err_unmap;
	return 0;

err_unmap:
	labdma_ubuf_unmap(aop->ub, false);
err_leave:
	labdma_leave(ld);
err_unreserve:
	spin_lock_irq(&lf->lock);
	list_del(&aop->node);
	lf->nr_inflight--;
	spin_unlock_irq(&lf->lock);
	wake_up_poll(&lf->wq, EPOLLOUT);
	kfree(aop);
	return ret;
}

static long labdma_ioctl_submit(struct labdma_file *lf, struct file *file,
				void __user *uarg)
{
	struct labdma_dev *ld = lf->ld;
	struct labdma_submit a;
	unsigned int timeout_ms;
	u64 done;
	u32 result;
	s32 hw_error;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~LABDMA_SUBMIT_ASYNC) || a.__pad ||
	    !labdma_reserved_zero(a.reserved, ARRAY_SIZE(a.reserved)))
		return -EINVAL;
	ret = labdma_check_args(ld, a.op, a.src, a.dst, a.len, a.pattern,
				a.timeout_ms);
	if (ret)
		return ret;
	timeout_ms = labdma_timeout(ld, a.timeout_ms);
	if (a.flags & LABDMA_SUBMIT_ASYNC)
		return labdma_submit_async(lf, file->f_flags & O_NONBLOCK, &a,
					   timeout_ms);

	ret = labdma_run_sync(ld, file->f_flags & O_NONBLOCK, a.op, a.src,
			      a.dst, a.len, a.pattern, a.channel, timeout_ms,
			      &done, &result, &hw_error);
	a.done = done;
	a.result = result;
	a.hw_error = hw_error;
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	return ret;
}

static long labdma_ioctl_mul(struct labdma_file *lf, struct file *file,
			     void __user *uarg, u32 op)
{
	struct labdma_dev *ld = lf->ld;
	struct labdma_mul m;
	u32 result;
	s32 hw_error;
	int ret;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (m.__pad || !labdma_reserved_zero(m.reserved, ARRAY_SIZE(m.reserved)))
		return -EINVAL;
	ret = labdma_check_args(ld, op, m.src, m.dst, m.len, 0, m.timeout_ms);
	if (ret)
		return ret;
	ret = labdma_run_sync(ld, file->f_flags & O_NONBLOCK, op, m.src, m.dst,
			      m.len, 0, LABDMA_CHANNEL_ANY,
			      labdma_timeout(ld, m.timeout_ms), &m.done,
			      &result, &hw_error);
	if (put_user(m.done, &((struct labdma_mul __user *)uarg)->done))
		return -EFAULT;
	return ret;
}

static bool labdma_complete_ready(struct labdma_file *lf, u32 min)
{
	bool ready;

	spin_lock_irq(&lf->lock);
	ready = lf->nr_ready >= min || !lf->nr_inflight;
	spin_unlock_irq(&lf->lock);
	return ready;
}

/*
 * Fetch finished asynchronous operations.  Each entry leaves the file's
 * list only once it has been copied out, so a bad @entries pointer loses
 * nothing.
 */
static long labdma_ioctl_complete(struct labdma_file *lf, struct file *file,
				  void __user *uarg)
{
	struct labdma_complete __user *up = uarg;
	struct labdma_completion __user *out;
	struct labdma_complete a;
	unsigned int count = 0;
	unsigned long wait;
	long ret = 0;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~LABDMA_COMPLETE_WAIT) || a.__pad || a.count ||
	    !labdma_reserved_zero(a.reserved, ARRAY_SIZE(a.reserved)) ||
	    !a.max || a.max > LABDMA_COMPLETE_MAX ||
	    a.timeout_ms > LABDMA_TIMEOUT_MAX_MS ||
	    ((a.flags & LABDMA_COMPLETE_WAIT) ? !a.min || a.min > a.max :
						a.min))
		return -EINVAL;
	out = u64_to_user_ptr(a.entries);
	if (put_user(0U, &up->count))
		return -EFAULT;

	if (a.flags & LABDMA_COMPLETE_WAIT) {
		if (file->f_flags & O_NONBLOCK) {
			if (!labdma_complete_ready(lf, a.min))
				return -EAGAIN;
		} else {
			wait = msecs_to_jiffies(labdma_timeout(lf->ld,
							       a.timeout_ms));
			ret = wait_event_interruptible_timeout(lf->wq,
							       labdma_complete_ready(lf, a.min),
							       wait);
			if (ret < 0)
				return ret;
		}
	}

	while (count < a.max) {
		struct labdma_aop *aop;

		spin_lock_irq(&lf->lock);
		aop = list_first_entry_or_null(&lf->ready, struct labdma_aop,
					       node);
		if (aop) {
			list_del(&aop->node);
			lf->nr_ready--;
		}
		spin_unlock_irq(&lf->lock);
		if (!aop)
			break;
		if (copy_to_user(&out[count], &aop->c, sizeof(aop->c))) {
			spin_lock_irq(&lf->lock);
			list_add(&aop->node, &lf->ready);
			lf->nr_ready++;
			spin_unlock_irq(&lf->lock);
			if (!count)
				return -EFAULT;
			break;
		}
		kfree(aop);
		count++;
	}
	if (count)
		wake_up_poll(&lf->wq, EPOLLOUT);
	if (put_user(count, &up->count))
		return -EFAULT;
	if (count)
		return 0;
	spin_lock_irq(&lf->lock);
	ret = lf->nr_inflight ? ((a.flags & LABDMA_COMPLETE_WAIT) ?
				 -ETIMEDOUT : -EAGAIN) : -ENODATA;
	spin_unlock_irq(&lf->lock);
	return ret;
}

static long labdma_ioctl_identify(struct labdma_dev *ld, void __user *uarg)
{
	struct labdma_info info = {
		.id = LABDMA_ID_VALUE,
		.hw_version = ld->hw_version,
		.cap = ld->cap,
		.max_xfer = ld->max_xfer,
		.vendor = ld->vendor,
		.device = ld->device,
		.variant = ld->variant->variant,
		.index = ld->index,
		.channels = ld->nr_channels,
		.ops_mask = ld->ops_mask,
		.ring_entries = ld->ring_entries,
		.irq_mode = ld->irq_mode,
		.irq_vectors = ld->nr_vectors,
		.dma_mask_bits = ld->dma_bits,
		.queue_depth = READ_ONCE(ld->queue_depth),
		.timeout_ms = READ_ONCE(ld->timeout_ms),
		.max_async = READ_ONCE(ld->max_async),
	};

	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long labdma_ioctl_doint(struct labdma_dev *ld, struct file *file,
			       void __user *uarg)
{
	struct labdma_doint a;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if ((a.bits & ~0xffU) || a.count || a.latency_ns ||
	    a.timeout_ms > LABDMA_TIMEOUT_MAX_MS ||
	    !labdma_reserved_zero(a.reserved, ARRAY_SIZE(a.reserved)))
		return -EINVAL;
	ret = labdma_enter(ld, file->f_flags & O_NONBLOCK);
	if (ret)
		return ret;
	ret = labdma_doint(ld, a.bits ? a.bits : 1,
			   labdma_timeout(ld, a.timeout_ms), &a.count,
			   &a.latency_ns);
	labdma_leave(ld);
	if (ret)
		return ret;
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static long labdma_ioctl_reg(struct labdma_dev *ld, struct file *file,
			     void __user *uarg, bool write)
{
	struct labdma_reg r;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&r, uarg, sizeof(r)))
		return -EFAULT;
	if (r.reserved || (!write && r.value))
		return -EINVAL;
	ret = labdma_enter(ld, file->f_flags & O_NONBLOCK);
	if (ret)
		return ret;
	if (write)
		ret = labdma_reg_write(ld, r.offset, r.value);
	else
		ret = labdma_reg_read(ld, r.offset, &r.value);
	labdma_leave(ld);
	if (ret || write)
		return ret;
	return copy_to_user(uarg, &r, sizeof(r)) ? -EFAULT : 0;
}

static long labdma_ioctl_reset(struct labdma_dev *ld, struct file *file,
			       void __user *uarg)
{
	struct labdma_reset r;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&r, uarg, sizeof(r)))
		return -EFAULT;
	if (!labdma_reserved_zero(r.reserved, ARRAY_SIZE(r.reserved)) ||
	    r.scope > LABDMA_RESET_DEVICE ||
	    (r.scope == LABDMA_RESET_CHANNEL ? r.channel >= ld->nr_channels :
					       r.channel))
		return -EINVAL;
	ret = labdma_enter(ld, file->f_flags & O_NONBLOCK);
	if (ret)
		return ret;
	if (r.scope == LABDMA_RESET_CHANNEL)
		ret = labdma_chan_reset(&ld->chan[r.channel]);
	else
		ret = labdma_dev_reset(ld);
	labdma_leave(ld);
	return ret;
}

static long labdma_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct labdma_file *lf = file->private_data;
	struct labdma_dev *ld = lf->ld;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case LABDMA_IOC_GET_VERSION: {
		struct labdma_version v = {
			.abi = LABDMA_ABI_VERSION,
			.hw_version = ld->hw_version,
			.driver_caps = LABDMA_DRV_CAP_ASYNC,
		};

		return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
	}
	case LABDMA_IOC_IDENTIFY:
		return labdma_ioctl_identify(ld, uarg);
	case LABDMA_IOC_DOINT:
		return labdma_ioctl_doint(ld, file, uarg);
	case LABDMA_IOC_REG_READ:
		return labdma_ioctl_reg(ld, file, uarg, false);
	case LABDMA_IOC_REG_WRITE:
		return labdma_ioctl_reg(ld, file, uarg, true);
	case LABDMA_IOC_RESET:
		return labdma_ioctl_reset(ld, file, uarg);
	case LABDMA_IOC_MUL2:
		return labdma_ioctl_mul(lf, file, uarg, LABDMA_OP_MUL2);
	case LABDMA_IOC_MUL4:
		return labdma_ioctl_mul(lf, file, uarg, LABDMA_OP_MUL4);
	case LABDMA_IOC_SUBMIT:
		return labdma_ioctl_submit(lf, file, uarg);
	case LABDMA_IOC_COMPLETE:
		return labdma_ioctl_complete(lf, file, uarg);
	case LABDMA_IOC_STATS: {
		struct labdma_stats st;

		labdma_get_stats(ld, &st);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	}
	default:
		return -ENOTTY;
	}
}

static __poll_t labdma_poll(struct file *file, poll_table *wait)
{
	struct labdma_file *lf = file->private_data;
	struct labdma_dev *ld = lf->ld;
	__poll_t mask = 0;

	poll_wait(file, &lf->wq, wait);
	spin_lock_irq(&lf->lock);
	if (lf->nr_ready)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (lf->nr_inflight + lf->nr_ready < READ_ONCE(ld->queue_depth))
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock_irq(&lf->lock);
	if (READ_ONCE(ld->dead))
		mask |= EPOLLHUP | EPOLLERR;
	return mask;
}

static int labdma_open(struct inode *inode, struct file *file)
{
	struct labdma_dev *ld = container_of(inode->i_cdev, struct labdma_dev,
					     cdev);
	struct labdma_file *lf;

	if (READ_ONCE(ld->dead))
		return -ENODEV;
	lf = kzalloc(sizeof(*lf), GFP_KERNEL);
	if (!lf)
		return -ENOMEM;
	lf->ld = ld;
	spin_lock_init(&lf->lock);
	INIT_LIST_HEAD(&lf->inflight);
	INIT_LIST_HEAD(&lf->ready);
	init_waitqueue_head(&lf->wq);
	get_device(&ld->dev);
	mutex_lock(&ld->files_lock);
	list_add_tail(&lf->node, &ld->files);
	mutex_unlock(&ld->files_lock);
	file->private_data = lf;
	/* no offsets: lseek and pread/pwrite fail with ESPIPE */
	return nonseekable_open(inode, file);
}

static bool labdma_file_idle(struct labdma_file *lf)
{
	bool idle;

	spin_lock_irq(&lf->lock);
	idle = !lf->nr_inflight;
	spin_unlock_irq(&lf->lock);
	return idle;
}

/* Closing ends the file's operations: cancelled, and waited for. */
static int labdma_release(struct inode *inode, struct file *file)
{
	struct labdma_file *lf = file->private_data;
	struct labdma_dev *ld = lf->ld;
	struct labdma_aop *aop, *tmp;

	spin_lock_irq(&lf->lock);
	list_for_each_entry(aop, &lf->inflight, node)
		labdma_req_cancel(&aop->req, -ECANCELED);
	spin_unlock_irq(&lf->lock);
	/* bounded: the engine ends each request within ABORT_WAIT of a cancel */
	wait_event(lf->wq, labdma_file_idle(lf));
	list_for_each_entry_safe(aop, tmp, &lf->ready, node)
		kfree(aop);

	mutex_lock(&ld->files_lock);
	list_del(&lf->node);
	mutex_unlock(&ld->files_lock);
	kfree(lf);
	put_device(&ld->dev);
	return 0;
}

/* Remove: pollers and waiters see the device go. */
void labdma_files_hangup(struct labdma_dev *ld)
{
	struct labdma_file *lf;

	mutex_lock(&ld->files_lock);
	list_for_each_entry(lf, &ld->files, node)
		wake_up_poll(&lf->wq, EPOLLHUP | EPOLLERR);
	mutex_unlock(&ld->files_lock);
}

const struct file_operations labdma_fops = {
	.owner		= THIS_MODULE,
	.open		= labdma_open,
	.release	= labdma_release,
	.unlocked_ioctl	= labdma_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= labdma_poll,
};
