/* SPDX-License-Identifier: GPL-2.0 */
/*
 * labdma - compatibility with older kernels
 *
 * The driver is written against the current kernel API (6.12 LTS).  Each
 * shim below provides that API on the older kernels still supported (down
 * to 6.1 LTS), in terms of what they have; it says which kernel introduced
 * the API and can go once no supported kernel predates that.  Nothing else
 * in the driver tests the kernel version.
 */
#ifndef _LABDMA_COMPAT_H
#define _LABDMA_COMPAT_H

#include <linux/device.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/version.h>

/*
 * 6.8 renamed PCI_IRQ_LEGACY to PCI_IRQ_INTX (6.10 dropped the old name).
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define PCI_IRQ_INTX	PCI_IRQ_LEGACY
#endif

/*
 * 6.4 dropped the owner argument of class_create(): classes no longer have
 * an owning module.  Before that, a class is owned by its creator.  The
 * wrapper expands the old class_create() macro (and its lockdep key) here,
 * before the macro is replaced by the one-argument form.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
static inline struct class * __must_check
labdma_compat_class_create(const char *name)
{
	return class_create(THIS_MODULE, name);
}

#undef class_create
#define class_create(name)	labdma_compat_class_create(name)
#endif

#endif /* _LABDMA_COMPAT_H */
