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
 *                                        (a hung insmod, for task dumps)
 */
#include <linux/delay.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/string.h>

static char *splat = "warn";
module_param(splat, charp, 0444);
MODULE_PARM_DESC(splat, "what to report: warn, refcount, list, oops or hang");

static unsigned int seconds = 600;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "how long splat=hang sleeps");

static noinline void lab_splat_oops(int *volatile p)
{
	*p = 1;
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
	} else {
		pr_err("lab_splat: unknown splat '%s'\n", splat);
		return -EINVAL;
	}
	return -EAGAIN;
}
module_init(lab_splat_init);

MODULE_DESCRIPTION("Kernel problem reports on purpose, for the lab runner's tests");
MODULE_LICENSE("GPL");
