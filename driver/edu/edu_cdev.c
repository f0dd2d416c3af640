// SPDX-License-Identifier: GPL-2.0
/*
 * edu character device: file operations and ioctls (docs/uapi.md).
 */

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "edu_drv.h"

static struct edu_file *edu_file_of(struct file *file)
{
	return file->private_data;
}

static bool edu_nonblock(struct file *file)
{
	return file->f_flags & O_NONBLOCK;
}

/*
 * Asynchronous operations of a file: at most one in flight.  The core
 * reports its end through edu_file_post(), with @ef as the cookie.
 */
static int edu_file_async_begin(struct edu_file *ef, bool *had_result)
{
	int ret = 0;

	spin_lock_irq(&ef->async_lock);
	if (ef->async_busy) {
		ret = -EBUSY;
	} else {
		ef->async_busy = true;
		/* the new operation replaces a completion nobody collected */
		*had_result = ef->async_done;
		ef->async_done = false;
	}
	spin_unlock_irq(&ef->async_lock);
	return ret;
}

/* The operation did not start: the uncollected completion stays. */
static void edu_file_async_abort(struct edu_file *ef, bool had_result)
{
	spin_lock_irq(&ef->async_lock);
	ef->async_busy = false;
	ef->async_done = had_result;
	wake_up_all(&ef->wq);
	spin_unlock_irq(&ef->async_lock);
}

/*
 * edu_done_fn of a file's operations.  Everything that touches @ef happens
 * under async_lock, so edu_release() can free @ef once it has seen
 * !async_busy and taken the lock once.
 */
static void edu_file_post(void *cookie, u32 op, int status, u64 result)
{
	struct edu_file *ef = cookie;
	unsigned long flags;

	spin_lock_irqsave(&ef->async_lock, flags);
	memset(&ef->async_result, 0, sizeof(ef->async_result));
	ef->async_result.op = op;
	ef->async_result.status = status;
	ef->async_result.result = result;
	ef->async_done = true;
	ef->async_busy = false;
	wake_up_poll(&ef->wq, EPOLLIN | EPOLLRDNORM);
	kill_fasync(&ef->fasync, SIGIO, POLL_IN);
	spin_unlock_irqrestore(&ef->async_lock, flags);
}

/* Allocate the staging buffer on first use; caller holds staging_lock. */
static int edu_staging_alloc_locked(struct edu_file *ef)
{
	struct edu_dev *edu = ef->edu;

	lockdep_assert_held(&ef->staging_lock);
	if (ef->staging)
		return 0;
	/*
	 * Opens are unbounded and each may hold a coherent buffer (with a
	 * narrow mask, from the small DMA zones): a per-device budget keeps
	 * user space from exhausting them.
	 */
	if (atomic_long_add_return(edu->staging_size, &edu->staging_used) >
	    READ_ONCE(edu->staging_budget)) {
		atomic_long_sub(edu->staging_size, &edu->staging_used);
		dev_info_ratelimited(&edu->dev,
				     "staging budget of %lu bytes in use: raise staging_budget\n",
				     READ_ONCE(edu->staging_budget));
		return -ENOMEM;
	}
	ef->staging = dma_alloc_coherent(edu->dma_dev, edu->staging_size,
					 &ef->staging_dma, GFP_KERNEL);
	if (!ef->staging) {
		atomic_long_sub(edu->staging_size, &edu->staging_used);
		return -ENOMEM;
	}
	dev_dbg(&edu->dev, "staging buffer of %zu bytes allocated\n",
		edu->staging_size);
	return 0;
}

static int edu_staging_ensure(struct edu_file *ef)
{
	struct edu_dev *edu = ef->edu;
	int ret;

	ret = edu_enter(edu, 0);
	if (ret)
		return ret;
	mutex_lock(&ef->staging_lock);
	ret = edu_staging_alloc_locked(ef);
	mutex_unlock(&ef->staging_lock);
	edu_leave(edu);
	return ret;
}

/* Caller holds files_lock; the device is still bound. */
static void edu_staging_free_locked(struct edu_file *ef)
{
	struct edu_dev *edu = ef->edu;

	lockdep_assert_held(&edu->files_lock);
	mutex_lock(&ef->staging_lock);
	if (ef->staging) {
		dma_free_coherent(edu->dma_dev, edu->staging_size,
				  ef->staging, ef->staging_dma);
		ef->staging = NULL;
		atomic_long_sub(edu->staging_size, &edu->staging_used);
	}
	mutex_unlock(&ef->staging_lock);
}

/* remove: wake pollers and SIGIO users so they see the hang-up. */
void edu_files_hangup(struct edu_dev *edu)
{
	struct edu_file *ef;

	mutex_lock(&edu->files_lock);
	list_for_each_entry(ef, &edu->files, node) {
		wake_up_poll(&ef->wq, EPOLLHUP | EPOLLERR);
		kill_fasync(&ef->fasync, SIGIO, POLL_HUP);
	}
	mutex_unlock(&edu->files_lock);
}

/*
 * remove, after the gate drained: zap user mappings of the staging buffers
 * (later accesses fault with SIGBUS), then free the buffers while the PCI
 * device is still bound.  No new buffer or mapping can appear: both need a
 * gate section, which fails now.
 */
void edu_files_teardown(struct edu_dev *edu)
{
	struct edu_file *ef;

	mutex_lock(&edu->files_lock);
	list_for_each_entry(ef, &edu->files, node) {
		unmap_mapping_range(ef->mapping, 0, 0, 1);
		edu_staging_free_locked(ef);
	}
	mutex_unlock(&edu->files_lock);
}

static int edu_open(struct inode *inode, struct file *file)
{
	struct edu_dev *edu = container_of(inode->i_cdev, struct edu_dev, cdev);
	struct edu_file *ef;
	int ret;

	ef = kzalloc(sizeof(*ef), GFP_KERNEL);
	if (!ef)
		return -ENOMEM;
	ef->edu = edu;
	ef->mapping = file->f_mapping;
	mutex_init(&ef->staging_lock);
	spin_lock_init(&ef->async_lock);
	init_waitqueue_head(&ef->wq);

	ret = edu_enter(edu, 0);
	if (ret) {
		kfree(ef);
		return ret;
	}
	get_device(&edu->dev);
	mutex_lock(&edu->files_lock);
	list_add_tail(&ef->node, &edu->files);
	mutex_unlock(&edu->files_lock);
	edu_leave(edu);

	file->private_data = ef;
	return 0;
}

static int edu_release(struct inode *inode, struct file *file)
{
	struct edu_file *ef = edu_file_of(file);
	struct edu_dev *edu = ef->edu;

	/*
	 * An asynchronous operation in flight is taken over, not waited for;
	 * one that a completer is finishing right now is done within a DMA
	 * transfer.
	 */
	edu_async_cancel(edu, ef);
	wait_event(ef->wq, !READ_ONCE(ef->async_busy));
	/* the completer touches @ef only under async_lock */
	spin_lock_irq(&ef->async_lock);
	spin_unlock_irq(&ef->async_lock);

	/*
	 * If remove already tore this file down, staging is NULL; otherwise
	 * remove has not passed its teardown yet and the device is bound.
	 */
	mutex_lock(&edu->files_lock);
	list_del(&ef->node);
	edu_staging_free_locked(ef);
	mutex_unlock(&edu->files_lock);

	mutex_destroy(&ef->staging_lock);
	kfree(ef);
	put_device(&edu->dev);
	return 0;
}

static ssize_t edu_read(struct file *file, char __user *buf, size_t count,
			loff_t *ppos)
{
	struct edu_file *ef = edu_file_of(file);
	loff_t pos = *ppos;
	void *tmp;
	u32 len;
	int ret;

	if (edu_is_dead(ef->edu))
		return -ENODEV;
	if (pos < 0)
		return -EINVAL;
	if (!count || pos >= EDU_DMA_WINDOW)
		return 0;
	len = min_t(size_t, count, EDU_DMA_WINDOW - pos);
	if (!access_ok(buf, len))
		return -EFAULT;

	/*
	 * Bounce through a private buffer: no user page fault happens while
	 * the DMA claim or a gate section is held.
	 */
	tmp = kmalloc(len, GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	ret = edu_bounce_rw(ef->edu, tmp, pos, len, false, edu_nonblock(file));
	if (!ret && copy_to_user(buf, tmp, len))
		ret = -EFAULT;
	kfree(tmp);
	if (ret)
		return ret;
	*ppos = pos + len;
	return len;
}

static ssize_t edu_write(struct file *file, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	struct edu_file *ef = edu_file_of(file);
	loff_t pos = *ppos;
	void *tmp;
	u32 len;
	int ret;

	if (edu_is_dead(ef->edu))
		return -ENODEV;
	if (pos < 0)
		return -EINVAL;
	if (!count)
		return 0;
	if (pos >= EDU_DMA_WINDOW)
		return -ENOSPC;
	len = min_t(size_t, count, EDU_DMA_WINDOW - pos);

	tmp = memdup_user(buf, len);
	if (IS_ERR(tmp))
		return PTR_ERR(tmp);
	ret = edu_bounce_rw(ef->edu, tmp, pos, len, true, edu_nonblock(file));
	kfree(tmp);
	if (ret)
		return ret;
	*ppos = pos + len;
	return len;
}

static loff_t edu_llseek(struct file *file, loff_t offset, int whence)
{
	struct edu_file *ef = edu_file_of(file);
	loff_t pos;

	if (edu_is_dead(ef->edu))
		return -ENODEV;

	switch (whence) {
	case SEEK_SET:
		return vfs_setpos(file, offset, EDU_DMA_WINDOW);
	case SEEK_CUR:
		spin_lock(&file->f_lock);
		if (check_add_overflow(file->f_pos, offset, &pos))
			pos = -EINVAL;
		else
			pos = vfs_setpos(file, pos, EDU_DMA_WINDOW);
		spin_unlock(&file->f_lock);
		return pos;
	case SEEK_END:
		if (check_add_overflow((loff_t)EDU_DMA_WINDOW, offset, &pos))
			return -EINVAL;
		return vfs_setpos(file, pos, EDU_DMA_WINDOW);
	default:
		return -EINVAL;
	}
}

/* After remove zapped the mapping, any access raises SIGBUS. */
static vm_fault_t edu_vm_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct edu_vm_ops = {
	.fault = edu_vm_fault,
};

static int edu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct edu_file *ef = edu_file_of(file);
	struct edu_dev *edu = ef->edu;
	unsigned long size = vma->vm_end - vma->vm_start;
	int ret;

	if (edu_is_dead(edu))
		return -ENODEV;
	if (vma->vm_pgoff || size > edu->staging_size)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	ret = edu_enter(edu, 0);
	if (ret)
		return ret;
	mutex_lock(&ef->staging_lock);
	ret = edu_staging_alloc_locked(ef);
	if (!ret) {
		vma->vm_ops = &edu_vm_ops;
		ret = dma_mmap_coherent(edu->dma_dev, vma, ef->staging,
					ef->staging_dma, edu->staging_size);
	}
	mutex_unlock(&ef->staging_lock);
	edu_leave(edu);
	return ret;
}

static __poll_t edu_poll(struct file *file, poll_table *wait)
{
	struct edu_file *ef = edu_file_of(file);
	__poll_t mask = 0;

	poll_wait(file, &ef->wq, wait);
	if (edu_is_dead(ef->edu))
		return EPOLLERR | EPOLLHUP;
	spin_lock_irq(&ef->async_lock);
	if (ef->async_done)
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock_irq(&ef->async_lock);
	return mask;
}

static int edu_fasync(int fd, struct file *file, int on)
{
	return fasync_helper(fd, file, on, &edu_file_of(file)->fasync);
}

static long edu_ioctl_identify(struct edu_file *ef, void __user *uarg)
{
	struct edu_dev *edu = ef->edu;
	struct edu_identify id;

	if (edu_is_dead(edu))
		return -ENODEV;
	memset(&id, 0, sizeof(id));
	id.id_register = edu->id_register;
	id.major = EDU_ID_MAJOR(edu->id_register);
	id.minor = EDU_ID_MINOR(edu->id_register);
	id.index = edu->index;
	id.irq_mode = edu->msi ? EDU_IRQ_MODE_MSI : EDU_IRQ_MODE_INTX;
	id.dma_mask_bits = edu->dma_bits;
	id.dma_window = EDU_DMA_WINDOW;
	id.staging_size = edu->staging_size;
	id.caps = EDU_CAP_FACTORIAL_IRQ | EDU_CAP_DMA | EDU_CAP_ASYNC;
	if (copy_to_user(uarg, &id, sizeof(id)))
		return -EFAULT;
	return 0;
}

static long edu_ioctl_liveness(struct edu_file *ef, void __user *uarg)
{
	struct edu_liveness lv;
	u32 inverted;
	int ret;

	if (edu_is_dead(ef->edu))
		return -ENODEV;
	if (copy_from_user(&lv, uarg, sizeof(lv)))
		return -EFAULT;
	if (lv.reserved)
		return -EINVAL;
	ret = edu_liveness(ef->edu, lv.value, &inverted);
	if (ret)
		return ret;
	lv.inverted = inverted;
	if (copy_to_user(uarg, &lv, sizeof(lv)))
		return -EFAULT;
	return 0;
}

/* Flags shared by FACTORIAL and DMA_STAGING. */
static int edu_check_op_flags(u32 flags)
{
	if (flags & ~EDU_OP_FLAGS_VALID)
		return -EINVAL;
	/* asynchronous completion is interrupt driven */
	if ((flags & EDU_OP_ASYNC) && (flags & EDU_WAIT_MASK))
		return -EINVAL;
	return 0;
}

static long edu_ioctl_factorial(struct file *file, struct edu_file *ef,
				void __user *uarg)
{
	struct edu_dev *edu = ef->edu;
	struct edu_factorial f;
	unsigned int timeout;
	u32 result;
	int ret;

	if (edu_is_dead(edu))
		return -ENODEV;
	if (copy_from_user(&f, uarg, sizeof(f)))
		return -EFAULT;
	if (f.reserved || edu_check_op_flags(f.flags) ||
	    f.timeout_ms > EDU_TIMEOUT_MAX_MS)
		return -EINVAL;
	timeout = f.timeout_ms ? f.timeout_ms : READ_ONCE(edu->timeout_ms);

	if (f.flags & EDU_OP_ASYNC) {
		bool had_result;

		ret = edu_file_async_begin(ef, &had_result);
		if (ret)
			return ret;
		ret = edu_factorial_async(edu, f.input, timeout,
					  edu_nonblock(file), edu_file_post, ef);
		if (ret)
			edu_file_async_abort(ef, had_result);
		return ret;
	}

	ret = edu_factorial(edu, f.input, edu_resolve_wait(edu, f.flags),
			    timeout, edu_nonblock(file), &result);
	if (ret)
		return ret;
	f.result = result;
	if (copy_to_user(uarg, &f, sizeof(f)))
		return -EFAULT;
	return 0;
}

static long edu_ioctl_raise_irq(struct edu_file *ef, void __user *uarg)
{
	struct edu_raise_irq r;
	u64 count;
	int ret;

	if (edu_is_dead(ef->edu))
		return -ENODEV;
	if (copy_from_user(&r, uarg, sizeof(r)))
		return -EFAULT;
	if (r.flags || r.reserved || !r.status ||
	    (r.status & EDU_DRIVER_IRQS))
		return -EINVAL;
	ret = edu_raise_irq(ef->edu, r.status, &count);
	if (ret)
		return ret;
	r.irq_count = count;
	if (copy_to_user(uarg, &r, sizeof(r)))
		return -EFAULT;
	return 0;
}

static long edu_ioctl_dma_staging(struct file *file, struct edu_file *ef,
				  void __user *uarg)
{
	struct edu_dev *edu = ef->edu;
	struct edu_dma_staging s;
	dma_addr_t addr;
	bool to_device;
	int ret;

	if (edu_is_dead(edu))
		return -ENODEV;
	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	if (s.reserved[0] || s.reserved[1] || edu_check_op_flags(s.flags))
		return -EINVAL;
	if (s.direction != EDU_DMA_TO_DEVICE &&
	    s.direction != EDU_DMA_FROM_DEVICE)
		return -EINVAL;
	if (!s.length || s.length > EDU_DMA_WINDOW ||
	    s.device_offset >= EDU_DMA_WINDOW ||
	    s.length > EDU_DMA_WINDOW - s.device_offset ||
	    s.staging_offset >= edu->staging_size ||
	    s.length > edu->staging_size - s.staging_offset)
		return -EINVAL;

	ret = edu_staging_ensure(ef);
	if (ret)
		return ret;
	to_device = s.direction == EDU_DMA_TO_DEVICE;
	/* the buffer lives until release, which cancels what is in flight */
	addr = ef->staging_dma + s.staging_offset;
	if (s.flags & EDU_OP_ASYNC) {
		bool had_result;

		ret = edu_file_async_begin(ef, &had_result);
		if (ret)
			return ret;
		ret = edu_dma_async(edu, addr, s.device_offset, s.length,
				    to_device, edu_nonblock(file),
				    edu_file_post, ef);
		if (ret)
			edu_file_async_abort(ef, had_result);
		return ret;
	}
	return edu_dma(edu, addr, s.device_offset, s.length, to_device,
		       edu_resolve_wait(edu, s.flags), edu_nonblock(file));
}

static bool edu_file_settled(struct edu_file *ef)
{
	bool settled;

	spin_lock_irq(&ef->async_lock);
	settled = ef->async_done || !ef->async_busy;
	spin_unlock_irq(&ef->async_lock);
	return settled;
}

static long edu_ioctl_complete(struct file *file, struct edu_file *ef,
			       void __user *uarg)
{
	struct edu_dev *edu = ef->edu;
	struct edu_completion c;
	int ret;

	for (;;) {
		if (edu_is_dead(edu))
			return -ENODEV;
		spin_lock_irq(&ef->async_lock);
		if (ef->async_done) {
			c = ef->async_result;
			ef->async_done = false;
			ret = 0;
		} else if (ef->async_busy) {
			ret = -EAGAIN;
		} else {
			ret = -ENODATA;
		}
		spin_unlock_irq(&ef->async_lock);

		if (ret != -EAGAIN || edu_nonblock(file))
			break;
		if (wait_event_interruptible(ef->wq, edu_file_settled(ef) ||
					     edu_is_dead(edu)))
			return -ERESTARTNOHAND;
	}
	if (ret)
		return ret;

	if (copy_to_user(uarg, &c, sizeof(c))) {
		/* do not lose the result: put it back unless superseded */
		spin_lock_irq(&ef->async_lock);
		if (!ef->async_done && !ef->async_busy) {
			ef->async_result = c;
			ef->async_done = true;
		}
		spin_unlock_irq(&ef->async_lock);
		return -EFAULT;
	}
	return 0;
}

static long edu_ioctl_stats(struct edu_file *ef, void __user *uarg)
{
	struct edu_counters *c = &ef->edu->stats;
	struct edu_stats st;

	if (edu_is_dead(ef->edu))
		return -ENODEV;
	memset(&st, 0, sizeof(st));
	st.irqs = atomic64_read(&c->irqs);
	st.factorial_ops = atomic64_read(&c->factorial_ops);
	st.dma_ops = atomic64_read(&c->dma_ops);
	st.dma_bytes = atomic64_read(&c->dma_bytes);
	st.errors = atomic64_read(&c->errors);
	st.timeouts = atomic64_read(&c->timeouts);
	if (copy_to_user(uarg, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

static bool edu_reg_is_dma(u32 offset)
{
	return offset >= EDU_REG_DMA_SRC && offset < EDU_REG_DMA_END;
}

static int edu_reg_fetch(struct edu_file *ef, void __user *uarg,
			 struct edu_reg *r)
{
	if (edu_is_dead(ef->edu))
		return -ENODEV;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(r, uarg, sizeof(*r)))
		return -EFAULT;
	if (r->flags || r->__pad || r->reserved)
		return -EINVAL;
	if (edu_reg_is_dma(r->offset))
		return -EPERM;
	return 0;
}

static long edu_ioctl_reg_read(struct edu_file *ef, void __user *uarg)
{
	struct edu_reg r;
	u32 value;
	int ret;

	ret = edu_reg_fetch(ef, uarg, &r);
	if (ret)
		return ret;
	switch (r.offset) {
	case EDU_REG_ID:
	case EDU_REG_LIVENESS:
	case EDU_REG_FACTORIAL:
	case EDU_REG_STATUS:
	case EDU_REG_IRQ_STATUS:
		break;
	default:
		return -EINVAL;
	}
	if (r.width != 4)
		return -EINVAL;

	ret = edu_reg_read(ef->edu, r.offset, &value);
	if (ret)
		return ret;
	r.value = value;
	if (copy_to_user(uarg, &r, sizeof(r)))
		return -EFAULT;
	return 0;
}

static long edu_ioctl_reg_write(struct edu_file *ef, void __user *uarg)
{
	struct edu_reg r;
	int ret;

	ret = edu_reg_fetch(ef, uarg, &r);
	if (ret)
		return ret;
	switch (r.offset) {
	case EDU_REG_LIVENESS:
		break;
	case EDU_REG_FACTORIAL:
	case EDU_REG_STATUS:
	case EDU_REG_IRQ_STATUS:
	case EDU_REG_IRQ_RAISE:
	case EDU_REG_IRQ_ACK:
		return -EPERM;	/* owned by the driver */
	default:
		return -EINVAL;
	}
	if (r.width != 4 || r.value > U32_MAX)
		return -EINVAL;
	return edu_reg_write(ef->edu, r.offset, r.value);
}

static long edu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct edu_file *ef = edu_file_of(file);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case EDU_IOC_IDENTIFY:
		return edu_ioctl_identify(ef, uarg);
	case EDU_IOC_LIVENESS:
		return edu_ioctl_liveness(ef, uarg);
	case EDU_IOC_FACTORIAL:
		return edu_ioctl_factorial(file, ef, uarg);
	case EDU_IOC_RAISE_IRQ:
		return edu_ioctl_raise_irq(ef, uarg);
	case EDU_IOC_DMA_STAGING:
		return edu_ioctl_dma_staging(file, ef, uarg);
	case EDU_IOC_DMA_USER:
		return edu_ioctl_dma_user(ef, uarg);
	case EDU_IOC_COMPLETE:
		return edu_ioctl_complete(file, ef, uarg);
	case EDU_IOC_STATS:
		return edu_ioctl_stats(ef, uarg);
	case EDU_IOC_REG_READ:
		return edu_ioctl_reg_read(ef, uarg);
	case EDU_IOC_REG_WRITE:
		return edu_ioctl_reg_write(ef, uarg);
	default:
		return -ENOTTY;
	}
}

const struct file_operations edu_fops = {
	.owner		= THIS_MODULE,
	.open		= edu_open,
	.release	= edu_release,
	.read		= edu_read,
	.write		= edu_write,
	.llseek		= edu_llseek,
	.mmap		= edu_mmap,
	.poll		= edu_poll,
	.fasync		= edu_fasync,
	.unlocked_ioctl	= edu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};
