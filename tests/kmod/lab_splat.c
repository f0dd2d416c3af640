// SPDX-License-Identifier: GPL-2.0
/*
 * lab_splat: makes the guest kernel report a problem on purpose, so the lab
 * runner's verdicts can be tested against the real thing (Debian's kernel
 * has no LKDTM).  Loading it does what the "splat" parameter says and then
 * fails with -EAGAIN, so it never stays loaded:
 *
 *   insmod lab_splat.ko splat=warn       WARNING: with a stack trace
 *   insmod lab_splat.ko splat=refcount   refcount_t: underflow
 *   insmod lab_splat.ko splat=list       list_add corruption (CONFIG_DEBUG_LIST)
 *   insmod lab_splat.ko splat=oops       NULL pointer dereference: an oops that
 *                                        kills insmod (the kernel carries on)
 *   insmod lab_splat.ko splat=hang seconds=N
 *                                        sleeps uninterruptibly for N seconds
 *                                        (a hung insmod, for task dumps; with
 *                                        hung_task_timeout_secs below N, a
 *                                        hung-task report)
 *   insmod lab_splat.ko splat=softlockup seconds=N
 *                                        spins N seconds with preemption off
 *                                        (boot with watchdog_thresh=1)
 *   insmod lab_splat.ko splat=rcu seconds=N
 *                                        spins N seconds in an RCU read-side
 *                                        critical section with preemption off
 *                                        (boot with rcupdate.rcu_cpu_stall_timeout=3)
 *   insmod lab_splat.ko splat=uaf        reads freed memory (KASAN, debug kernel)
 *   insmod lab_splat.ko splat=lockdep    takes two locks in both orders (lockdep)
 *   insmod lab_splat.ko splat=leak       leaks an allocation (kmemleak's next
 *                                        scan reports it, 5 s later at the earliest)
 *   insmod lab_splat.ko splat=dmaapi     unmaps a streaming mapping with the
 *                                        wrong size (DMA-API debug)
 */
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *splat = "warn";
module_param(splat, charp, 0444);
MODULE_PARM_DESC(splat,
		 "what to report: warn, refcount, list, oops, hang, softlockup, rcu, uaf, lockdep, leak or dmaapi");

static unsigned int seconds = 600;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "how long splat=hang sleeps, softlockup and rcu spin");

static DEFINE_MUTEX(lab_splat_a);
static DEFINE_MUTEX(lab_splat_b);

static void lab_splat_spin(void)
{
	unsigned int ms;

	for (ms = 0; ms < seconds * 1000; ms++)
		mdelay(1);
}

static noinline void lab_splat_oops(int *p)
{
	OPTIMIZER_HIDE_VAR(p);	/* a real store through NULL, not a trap */
	WRITE_ONCE(*p, 1);
}

static noinline int lab_splat_uaf(void)
{
	char *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	kfree(p);
	OPTIMIZER_HIDE_VAR(p);
	return READ_ONCE(p[8]);
}

/* A device of our own to map for: a root device given a 32-bit DMA mask. */
static int lab_splat_dmaapi(void)
{
	struct device *dev = root_device_register("lab_splat");
	dma_addr_t addr;
	void *buf;
	int ret = -ENOMEM;

	if (IS_ERR(dev))
		return PTR_ERR(dev);
	dev->dma_mask = &dev->coherent_dma_mask;
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(32));
	if (ret)
		goto out_dev;
	buf = kmalloc(256, GFP_KERNEL);
	if (!buf) {
		ret = -ENOMEM;
		goto out_dev;
	}
	addr = dma_map_single(dev, buf, 256, DMA_TO_DEVICE);
	ret = dma_mapping_error(dev, addr);
	if (!ret)
		dma_unmap_single(dev, addr, 128, DMA_TO_DEVICE);	/* wrong size */
	kfree(buf);
out_dev:
	root_device_unregister(dev);
	return ret;
}

static int __init lab_splat_init(void)
{
	if (!strcmp(splat, "warn")) {
		WARN(1, "lab_splat: a warning on purpose\n");
	} else if (!strcmp(splat, "refcount")) {
		refcount_t r = REFCOUNT_INIT(1);

		refcount_dec(&r);	/* to zero: refcount_dec() must not do that */
	} else if (!strcmp(splat, "list")) {
		LIST_HEAD(head);
		struct list_head entry;

		list_add(&entry, &head);
		list_add(&entry, &head);	/* twice: list_add double add */
	} else if (!strcmp(splat, "oops")) {
		lab_splat_oops(NULL);
	} else if (!strcmp(splat, "hang")) {
		pr_info("lab_splat: sleeping uninterruptibly for %u s\n", seconds);
		ssleep(seconds);
	} else if (!strcmp(splat, "softlockup")) {
		preempt_disable();
		lab_splat_spin();
		preempt_enable();
	} else if (!strcmp(splat, "rcu")) {
		rcu_read_lock();
		preempt_disable();
		lab_splat_spin();
		preempt_enable();
		rcu_read_unlock();
	} else if (!strcmp(splat, "uaf")) {
		pr_info("lab_splat: read %d from freed memory\n", lab_splat_uaf());
	} else if (!strcmp(splat, "lockdep")) {
		mutex_lock(&lab_splat_a);
		mutex_lock(&lab_splat_b);
		mutex_unlock(&lab_splat_b);
		mutex_unlock(&lab_splat_a);
		mutex_lock(&lab_splat_b);
		mutex_lock(&lab_splat_a);	/* B then A: the inverse order */
		mutex_unlock(&lab_splat_a);
		mutex_unlock(&lab_splat_b);
	} else if (!strcmp(splat, "dmaapi")) {
		int ret = lab_splat_dmaapi();

		if (ret)
			return ret;
	} else if (!strcmp(splat, "leak")) {
		void *p = kmalloc(128, GFP_KERNEL);

		/* Used, so the compiler keeps the allocation; then forgotten. */
		OPTIMIZER_HIDE_VAR(p);
		if (p)
			memset(p, 0x5a, 128);
	} else {
		pr_err("lab_splat: unknown splat '%s'\n", splat);
		return -EINVAL;
	}
	return -EAGAIN;
}
module_init(lab_splat_init);

MODULE_DESCRIPTION("Kernel problem reports on purpose, for the lab runner's tests");
MODULE_LICENSE("GPL");
