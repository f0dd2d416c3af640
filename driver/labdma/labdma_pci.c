// SPDX-License-Identifier: GPL-2.0
/*
 * labdma PCI glue: module parameters, the ID table and its variants,
 * probe/remove, interrupt vectors, power management, function resets, AER
 * recovery, SR-IOV and module init/exit.
 */

#include <linux/bitfield.h>
#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/pm.h>
#include <linux/slab.h>

#include "labdma_drv.h"

#define LABDMA_VENDOR_ID	0x1af4	/* Red Hat: QEMU's experimental range */
#define LABDMA_MAX_DEVICES	(MINORMASK + 1)
#define LABDMA_DRAIN_MS		2000U
/*
 * After error_detected, the PCI core calls slot_reset/resume, or (from 6.9)
 * error_detected again with perm_failure.  6.1 calls nothing when the link
 * reset fails: without this bound, operations held at the gate would wait
 * forever.
 */
#define LABDMA_AER_GIVE_UP_MS	15000U

static unsigned int labdma_dma_bits = 64;
static char *labdma_irq_mode = "auto";
static unsigned int labdma_ring_entries = 256;
static unsigned int labdma_timeout_ms = 5000;
static unsigned int labdma_queue_depth = 64;

static int labdma_set_dma_bits(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 24, 64);
}

static const struct kernel_param_ops labdma_dma_bits_ops = {
	.set = labdma_set_dma_bits,
	.get = param_get_uint,
};

module_param_cb(dma_bits, &labdma_dma_bits_ops, &labdma_dma_bits, 0444);
MODULE_PARM_DESC(dma_bits,
		 "DMA mask width in bits, 24..64 (default 64); must not exceed QEMU's -device labdma,dma-mask=");

module_param_named(irq_mode, labdma_irq_mode, charp, 0444);
MODULE_PARM_DESC(irq_mode,
		 "Interrupts: auto (MSI-X, else MSI, else INTx), msix, msi or intx (default auto)");

static int labdma_set_ring_entries(const char *val,
				   const struct kernel_param *kp)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (v < 2 || v > LABDMA_RING_ENTRIES_MAX || !is_power_of_2(v))
		return -EINVAL;
	*(unsigned int *)kp->arg = v;
	return 0;
}

static const struct kernel_param_ops labdma_ring_entries_ops = {
	.set = labdma_set_ring_entries,
	.get = param_get_uint,
};

module_param_cb(ring_entries, &labdma_ring_entries_ops, &labdma_ring_entries,
		0444);
MODULE_PARM_DESC(ring_entries,
		 "Descriptors per channel ring, a power of two 2..4096 (default 256)");

static int labdma_set_timeout_ms(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, LABDMA_TIMEOUT_MAX_MS);
}

static const struct kernel_param_ops labdma_timeout_ms_ops = {
	.set = labdma_set_timeout_ms,
	.get = param_get_uint,
};

module_param_cb(timeout_ms, &labdma_timeout_ms_ops, &labdma_timeout_ms, 0444);
MODULE_PARM_DESC(timeout_ms,
		 "Initial sysfs timeout_ms of each device, 1..60000 (default 5000)");

static int labdma_set_queue_depth(const char *val,
				  const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, LABDMA_QUEUE_DEPTH_MAX);
}

static const struct kernel_param_ops labdma_queue_depth_ops = {
	.set = labdma_set_queue_depth,
	.get = param_get_uint,
};

module_param_cb(queue_depth, &labdma_queue_depth_ops, &labdma_queue_depth,
		0444);
MODULE_PARM_DESC(queue_depth,
		 "Initial sysfs queue_depth: asynchronous operations per open file, 1..1024 (default 64)");

static const struct labdma_variant labdma_variants[] = {
	[LABDMA_VARIANT_FULL] = {
		.name = "labdma", .variant = LABDMA_VARIANT_FULL,
		.min_channels = 1, .max_channels = LABDMA_MAX_CHANNELS,
		.ops_mask = 0x3f, .msix = true, .max_xfer = SZ_1M,
	},
	[LABDMA_VARIANT_LITE] = {
		.name = "labdma-lite", .variant = LABDMA_VARIANT_LITE,
		.min_channels = 1, .max_channels = 1,
		.ops_mask = 0x07, .msix = false, .max_xfer = SZ_64K,
	},
	[LABDMA_VARIANT_VF] = {
		.name = "labdma VF", .variant = LABDMA_VARIANT_VF,
		.min_channels = 1, .max_channels = 1,
		.ops_mask = 0x3f, .msix = true, .max_xfer = SZ_1M,
	},
};

static struct class *labdma_class;
static dev_t labdma_devt;
static DEFINE_IDA(labdma_ida);

/* Last reference gone: no file, no sysfs user, no driver binding left. */
static void labdma_dev_release(struct device *dev)
{
	struct labdma_dev *ld = to_labdma_dev(dev);

	ida_free(&labdma_ida, ld->index);
	kfree(ld);
}

static int labdma_setup_dma(struct labdma_dev *ld)
{
	struct device *dev = ld->dma_dev;
	int ret;

	ld->dma_bits = labdma_dma_bits;
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(ld->dma_bits));
	if (ret && ld->dma_bits > 32) {
		/* Documentation/core-api/dma-api-howto.rst: fall back to 32 */
		ld->dma_bits = 32;
		ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(32));
	}
	if (ret) {
		dev_err(dev, "no usable DMA mask (%u bits: %d)\n",
			ld->dma_bits, ret);
		return ret;
	}
	/*
	 * What one descriptor moves, and no more than a bounce buffer holds
	 * (swiotlb): mappings never merge beyond it.  (A PCI device has DMA
	 * parameters; from 6.11 this cannot fail.)
	 */
	dma_set_max_seg_size(dev, min_t(size_t, ld->max_xfer,
					rounddown(dma_max_mapping_size(dev),
						  PAGE_SIZE)));
	return 0;
}

static unsigned int labdma_irq_types(struct labdma_dev *ld)
{
	if (sysfs_streq(labdma_irq_mode, "msix"))
		return PCI_IRQ_MSIX;
	if (sysfs_streq(labdma_irq_mode, "msi"))
		return PCI_IRQ_MSI;
	if (sysfs_streq(labdma_irq_mode, "intx"))
		return PCI_IRQ_INTX;
	if (!sysfs_streq(labdma_irq_mode, "auto"))
		dev_warn(ld->dma_dev, "irq_mode=%s is not auto, msix, msi or intx; using auto\n",
			 labdma_irq_mode);
	return PCI_IRQ_MSIX | PCI_IRQ_MSI | PCI_IRQ_INTX;
}

/*
 * MSI-X: vector 0 for errors and test interrupts, then one per channel
 * (spread over the CPUs by managed affinity), channels sharing vectors if
 * fewer were granted.  MSI and INTx: one vector for everything.
 */
static int labdma_alloc_vectors(struct labdma_dev *ld)
{
	struct irq_affinity affd = { .pre_vectors = 1 };
	struct pci_dev *pdev = ld->pdev;
	unsigned int types = labdma_irq_types(ld);
	int nvec = -ENODEV;

	if ((types & PCI_IRQ_MSIX) && ld->variant->msix)
		nvec = pci_alloc_irq_vectors_affinity(pdev, 2,
						      ld->nr_channels + 1,
						      PCI_IRQ_MSIX |
						      PCI_IRQ_AFFINITY, &affd);
	if (nvec < 0 && (types & PCI_IRQ_MSI))
		nvec = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI);
	if (nvec < 0 && (types & PCI_IRQ_INTX))
		nvec = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_INTX);
	if (nvec < 0) {
		dev_err(&pdev->dev, "no interrupt of the kinds irq_mode=%s allows: %d\n",
			labdma_irq_mode, nvec);
		return nvec;
	}
	ld->nr_vectors = nvec;
	ld->irq_mode = pdev->msix_enabled ? LABDMA_IRQ_MODE_MSIX :
		       pdev->msi_enabled ? LABDMA_IRQ_MODE_MSI :
		       LABDMA_IRQ_MODE_INTX;
	return 0;
}

static void labdma_free_irqs(struct labdma_dev *ld, unsigned int requested)
{
	while (requested--)
		free_irq(pci_irq_vector(ld->pdev, requested),
			 &ld->vecs[requested]);
	pci_free_irq_vectors(ld->pdev);
}

static int labdma_setup_irqs(struct labdma_dev *ld)
{
	struct pci_dev *pdev = ld->pdev;
	unsigned int v, c;
	int ret;

	ret = labdma_alloc_vectors(ld);
	if (ret)
		return ret;
	ld->vecs = devm_kcalloc(&pdev->dev, ld->nr_vectors, sizeof(*ld->vecs),
				GFP_KERNEL);
	if (!ld->vecs) {
		pci_free_irq_vectors(pdev);
		return -ENOMEM;
	}
	for (v = 0; v < ld->nr_vectors; v++) {
		ld->vecs[v].ld = ld;
		ld->vecs[v].index = v;
	}
	ld->vecs[0].bits = LABDMA_INT_ERROR | LABDMA_INT_TESTS;
	for (c = 0; c < ld->nr_channels; c++) {
		v = ld->nr_vectors > 1 ? 1 + c % (ld->nr_vectors - 1) : 0;
		ld->chan[c].vector = v;
		ld->vecs[v].bits |= LABDMA_INT_CHAN(c);
	}
	for (v = 0; v < ld->nr_vectors; v++) {
		struct labdma_vec *vec = &ld->vecs[v];

		if (ld->nr_vectors == 1)
			snprintf(vec->name, sizeof(vec->name), "%s",
				 dev_name(&ld->dev));
		else if (!v)
			snprintf(vec->name, sizeof(vec->name), "%s-err",
				 dev_name(&ld->dev));
		else
			snprintf(vec->name, sizeof(vec->name), "%s-ch%u",
				 dev_name(&ld->dev), v - 1);
		ret = request_threaded_irq(pci_irq_vector(pdev, v),
					   labdma_irq_hard, labdma_irq_thread,
					   ld->irq_mode == LABDMA_IRQ_MODE_INTX ?
					   IRQF_SHARED : 0, vec->name, vec);
		if (ret) {
			dev_err(&pdev->dev, "cannot request IRQ %d (%s): %d\n",
				pci_irq_vector(pdev, v), vec->name, ret);
			labdma_free_irqs(ld, v);
			return ret;
		}
	}
	return 0;
}

/*
 * The engine core found a channel that does not stop: take the function
 * off the bus now (no DMA after this config write), and reset it from
 * process context (reset_prepare/reset_done below).
 */
static void labdma_cut_off(struct labdma_dev *ld)
{
	unsigned long flags;

	pci_clear_master(ld->pdev);
	/* AER recovery is under way: it resets the link itself */
	if (pci_channel_offline(ld->pdev))
		return;
	/* not after remove's kill: remove cancels the work only once */
	spin_lock_irqsave(&ld->state_lock, flags);
	if (!ld->dead)
		schedule_delayed_work(&ld->recover_work, 0);
	spin_unlock_irqrestore(&ld->state_lock, flags);
}

static void labdma_recover_work(struct work_struct *work)
{
	struct labdma_dev *ld = container_of(to_delayed_work(work),
					     struct labdma_dev, recover_work);
	struct device *dev = &ld->pdev->dev;
	int ret;

	if (READ_ONCE(ld->dead))
		return;
	dev_warn(dev, "resetting the function to recover it\n");
	ret = pci_try_reset_function(ld->pdev);
	if (ret == -EAGAIN) {
		/* the device lock is held: by remove, or by another reset */
		if (!READ_ONCE(ld->dead))
			schedule_delayed_work(&ld->recover_work, HZ / 10);
		return;
	}
	if (ret || READ_ONCE(ld->broken)) {
		dev_err(dev, "recovery failed (%d); the device stays unusable until it is rebound\n",
			ret);
		labdma_fail_queued(ld, -EIO);
		return;
	}
	atomic64_inc(&ld->stats.recoveries);
	dev_info(dev, "recovered by a function reset\n");
}

/* The device is lost to a PCI error: off the bus, every waiter gets -EIO. */
static void labdma_lost(struct labdma_dev *ld, const char *why)
{
	pci_clear_master(ld->pdev);
	labdma_resume(ld, false);
	labdma_fail_queued(ld, -EIO);
	dev_err(&ld->pdev->dev, "the device is lost (%s); remove and rescan it to use it again\n",
		why);
}

static void labdma_aer_work(struct work_struct *work)
{
	struct labdma_dev *ld = container_of(to_delayed_work(work),
					     struct labdma_dev, aer_work);

	if (!READ_ONCE(ld->dead))
		labdma_lost(ld, "no recovery from a PCI error");
}

/* After resume or a reset: is it still our device?  Then start it again. */
static bool labdma_restart(struct labdma_dev *ld, const char *after)
{
	if (labdma_identify(ld, false)) {
		dev_err(ld->dma_dev, "device not usable after %s\n", after);
		/* nothing will start the rings again: end what waits on them */
		labdma_fail_queued(ld, -EIO);
		return false;
	}
	/* the restored command register may have it off (labdma_cut_off()) */
	pci_set_master(ld->pdev);
	labdma_hw_start(ld);
	return true;
}

static int labdma_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct labdma_dev *ld;
	unsigned int c;
	int ret;

	ld = kzalloc(sizeof(*ld), GFP_KERNEL);
	if (!ld)
		return -ENOMEM;
	labdma_dev_init(ld);
	ld->pdev = pdev;
	ld->dma_dev = dev;
	ld->variant = &labdma_variants[id->driver_data];
	ld->vendor = pdev->vendor;
	ld->device = pdev->device;
	ld->cut_off = labdma_cut_off;
	INIT_DELAYED_WORK(&ld->recover_work, labdma_recover_work);
	INIT_DELAYED_WORK(&ld->aer_work, labdma_aer_work);
	ld->ring_entries = labdma_ring_entries;
	ld->timeout_ms = labdma_timeout_ms;
	ld->queue_depth = labdma_queue_depth;
	ld->max_async = SZ_4M;
	ld->lost_irq_ms = 100;

	ret = ida_alloc_max(&labdma_ida, LABDMA_MAX_DEVICES - 1, GFP_KERNEL);
	if (ret < 0) {
		kfree(ld);
		return ret;
	}
	ld->index = ret;

	/* from here on put_device() frees @ld and its index */
	device_initialize(&ld->dev);
	ld->dev.class = labdma_class;
	ld->dev.parent = dev;
	ld->dev.devt = MKDEV(MAJOR(labdma_devt), ld->index);
	ld->dev.groups = labdma_groups;
	ld->dev.release = labdma_dev_release;
	ret = dev_set_name(&ld->dev, "labdma%d", ld->index);
	if (ret)
		goto err_put;

	ret = pcim_enable_device(pdev);
	if (ret) {
		dev_err(dev, "cannot enable PCI device: %d\n", ret);
		goto err_put;
	}
	if (!(pci_resource_flags(pdev, 0) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, 0) < LABDMA_BAR0_MIN_LEN) {
		dev_err(dev, "BAR0 is not a memory BAR of at least %#x bytes\n",
			LABDMA_BAR0_MIN_LEN);
		ret = -ENODEV;
		goto err_put;
	}
	ret = pcim_iomap_regions(pdev, BIT(0), LABDMA_DRV_NAME);
	if (ret) {
		dev_err(dev, "cannot map BAR0: %d\n", ret);
		goto err_put;
	}
	ld->regs = pcim_iomap_table(pdev)[0];
	/* the device's own registers: no DMA may write there (datasheet 8) */
	ld->bad_dma_addr = pci_bus_address(pdev, 0);
	ret = labdma_identify(ld, false);
	if (ret)
		goto err_put;
	if (ld->ring_entries > BIT(FIELD_GET(LABDMA_CAP_RING_LOG2, ld->cap))) {
		dev_err(dev, "ring_entries=%u is above the device's %lu\n",
			ld->ring_entries,
			BIT(FIELD_GET(LABDMA_CAP_RING_LOG2, ld->cap)));
		ret = -EINVAL;
		goto err_put;
	}
	ret = labdma_setup_dma(ld);
	if (ret)
		goto err_put;
	for (c = 0; c < ld->nr_channels; c++) {
		ret = labdma_chan_init(ld, c);
		if (ret)
			goto err_put;
	}
	ret = labdma_setup_irqs(ld);
	if (ret)
		goto err_put;

	pci_set_master(pdev);
	pci_set_drvdata(pdev, ld);
	labdma_hw_start(ld);
	labdma_debugfs_add(ld);

	cdev_init(&ld->cdev, &labdma_fops);
	ld->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&ld->cdev, &ld->dev);
	if (ret) {
		dev_err(dev, "cannot add %s: %d\n", dev_name(&ld->dev), ret);
		goto err_stop;
	}

	/* what AER recovery restores after a link reset */
	pci_save_state(pdev);
	dev_info(dev, "%s: %s v%u.%u, %u channel(s), %s with %u vector(s), %u-bit DMA, rings of %u\n",
		 dev_name(&ld->dev), ld->variant->name,
		 LABDMA_VERSION_MAJOR(ld->hw_version), ld->hw_version & 0xffff,
		 ld->nr_channels,
		 ld->irq_mode == LABDMA_IRQ_MODE_MSIX ? "MSI-X" :
		 ld->irq_mode == LABDMA_IRQ_MODE_MSI ? "MSI" : "INTx",
		 ld->nr_vectors, ld->dma_bits, ld->ring_entries);
	return 0;

err_stop:
	labdma_debugfs_remove(ld);
	labdma_kill(ld);
	labdma_hw_stop(ld);
	labdma_free_irqs(ld, ld->nr_vectors);
	pci_clear_master(pdev);
err_put:
	put_device(&ld->dev);
	return ret;
}

/*
 * Stop everything and fail what is queued: the common tail of remove and
 * shutdown.  The channels are stopped (or the function is off the bus)
 * before any request's memory is released.
 */
static void labdma_teardown(struct labdma_dev *ld)
{
	unsigned int c;

	labdma_kill(ld);
	/* after the kill, so they cannot be queued again */
	cancel_delayed_work_sync(&ld->recover_work);
	cancel_delayed_work_sync(&ld->aer_work);
	labdma_hw_stop(ld);
	pci_clear_master(ld->pdev);
	for (c = 0; c < ld->nr_channels; c++)
		labdma_chan_fail_all(&ld->chan[c], -ENODEV);
	labdma_files_hangup(ld);
}

/*
 * Driver unbind, module unload, hot-unplug: possibly with files open and
 * operations in flight.  Afterwards nothing touches the device and no DMA
 * API call is made for it; open files get -ENODEV.
 */
static void labdma_remove(struct pci_dev *pdev)
{
	struct labdma_dev *ld = pci_get_drvdata(pdev);

	if (ld->variant->variant == LABDMA_VARIANT_FULL)
		pci_disable_sriov(pdev);
	labdma_debugfs_remove(ld);
	cdev_device_del(&ld->cdev, &ld->dev);
	labdma_teardown(ld);
	labdma_drain(ld);
	labdma_free_irqs(ld, ld->nr_vectors);
	/* a watchdog or IRQ thread may have queued it before the kill */
	cancel_delayed_work_sync(&ld->recover_work);
	put_device(&ld->dev);
}

/* Reboot/kexec: no DMA or interrupt behind the next kernel's back. */
static void labdma_shutdown(struct pci_dev *pdev)
{
	struct labdma_dev *ld = pci_get_drvdata(pdev);

	labdma_teardown(ld);
}

static int labdma_pm_suspend(struct device *dev)
{
	struct labdma_dev *ld = dev_get_drvdata(dev);

	if (labdma_pause(ld, LABDMA_TIMEOUT_MAX_MS + LABDMA_DRAIN_MS)) {
		dev_err(dev, "operations did not drain; refusing to suspend\n");
		labdma_resume(ld, !READ_ONCE(ld->broken));
		return -EBUSY;
	}
	labdma_hw_stop(ld);
	return 0;
}

static int labdma_pm_resume(struct device *dev)
{
	struct labdma_dev *ld = dev_get_drvdata(dev);
	bool ok = labdma_restart(ld, "resume");

	labdma_resume(ld, ok);
	return ok ? 0 : -ENODEV;
}

static DEFINE_SIMPLE_DEV_PM_OPS(labdma_pm_ops, labdma_pm_suspend,
				labdma_pm_resume);

/*
 * Function reset (sysfs "reset", VFIO, the recovery above): hold new I/O at
 * the gate, let what is in flight end (each within its timeout), stop the
 * channels.  A channel still running then is failed after it is stopped.
 */
static void labdma_pci_reset_prepare(struct pci_dev *pdev)
{
	struct labdma_dev *ld = pci_get_drvdata(pdev);

	if (labdma_pause(ld, LABDMA_TIMEOUT_MAX_MS + LABDMA_DRAIN_MS))
		dev_err(&pdev->dev, "operations still running at reset\n");
	labdma_hw_stop(ld);
}

static void labdma_pci_reset_done(struct pci_dev *pdev)
{
	struct labdma_dev *ld = pci_get_drvdata(pdev);
	bool ok = labdma_restart(ld, "reset");

	/* the core's restore consumed the saved state AER recovery needs */
	pci_save_state(pdev);
	labdma_resume(ld, ok);
}

/*
 * AER.  Uncorrectable error: hold new I/O; what is in flight gets
 * LABDMA_DRAIN_MS to end (or ends by its timeout later).  A fatal error
 * resets the link, then the device must identify itself again; the rings
 * are programmed again and queued work is put back on them.
 */
static pci_ers_result_t labdma_pci_error_detected(struct pci_dev *pdev,
						  pci_channel_state_t state)
{
	struct labdma_dev *ld = pci_get_drvdata(pdev);

	dev_warn(&pdev->dev, "PCI error (channel state %d): holding I/O\n",
		 state);
	if (state == pci_channel_io_perm_failure) {
		/* recovery failed, or the device is gone: nothing resumes it */
		cancel_delayed_work_sync(&ld->aer_work);
		labdma_lost(ld, "PCI error recovery failed");
		return PCI_ERS_RESULT_DISCONNECT;
	}
	schedule_delayed_work(&ld->aer_work,
			      msecs_to_jiffies(LABDMA_AER_GIVE_UP_MS));
	labdma_pause(ld, LABDMA_DRAIN_MS);
	return state == pci_channel_io_normal ? PCI_ERS_RESULT_CAN_RECOVER :
						PCI_ERS_RESULT_NEED_RESET;
}

static pci_ers_result_t labdma_pci_slot_reset(struct pci_dev *pdev)
{
	struct labdma_dev *ld = pci_get_drvdata(pdev);

	pci_restore_state(pdev);
	pci_save_state(pdev);
	if (!labdma_identify(ld, true))
		return PCI_ERS_RESULT_RECOVERED;
	/* no resume follows: fail, not hold */
	cancel_delayed_work_sync(&ld->aer_work);
	labdma_lost(ld, "it does not identify itself after a link reset");
	return PCI_ERS_RESULT_DISCONNECT;
}

static void labdma_pci_error_resume(struct pci_dev *pdev)
{
	struct labdma_dev *ld = pci_get_drvdata(pdev);
	bool ok;

	cancel_delayed_work_sync(&ld->aer_work);
	labdma_hw_stop(ld);
	ok = labdma_restart(ld, "PCI error recovery");
	labdma_resume(ld, ok);
	if (ok)
		dev_info(&pdev->dev, "recovered from a PCI error\n");
}

static const struct pci_error_handlers labdma_err_handlers = {
	.error_detected	= labdma_pci_error_detected,
	.slot_reset	= labdma_pci_slot_reset,
	.resume		= labdma_pci_error_resume,
	.reset_prepare	= labdma_pci_reset_prepare,
	.reset_done	= labdma_pci_reset_done,
};

/* SR-IOV: the VFs (1af4:10f2) bind to this driver as well. */
static int labdma_sriov_configure(struct pci_dev *pdev, int num_vfs)
{
	struct labdma_dev *ld = pci_get_drvdata(pdev);
	int ret;

	if (ld->variant->variant != LABDMA_VARIANT_FULL)
		return -EOPNOTSUPP;
	if (!num_vfs) {
		pci_disable_sriov(pdev);
		return 0;
	}
	ret = pci_enable_sriov(pdev, num_vfs);
	if (ret) {
		dev_err(&pdev->dev, "cannot enable %d VF(s): %d\n", num_vfs,
			ret);
		return ret;
	}
	return num_vfs;
}

static const struct pci_device_id labdma_pci_ids[] = {
	{ PCI_DEVICE(LABDMA_VENDOR_ID, 0x10f0),
	  .driver_data = LABDMA_VARIANT_FULL },
	{ PCI_DEVICE(LABDMA_VENDOR_ID, 0x10f1),
	  .driver_data = LABDMA_VARIANT_LITE },
	{ PCI_DEVICE(LABDMA_VENDOR_ID, 0x10f2),
	  .driver_data = LABDMA_VARIANT_VF },
	{ }
};
MODULE_DEVICE_TABLE(pci, labdma_pci_ids);

static struct pci_driver labdma_pci_driver = {
	.name		= LABDMA_DRV_NAME,
	.id_table	= labdma_pci_ids,
	.probe		= labdma_probe,
	.remove		= labdma_remove,
	.shutdown	= labdma_shutdown,
	.sriov_configure = labdma_sriov_configure,
	.err_handler	= &labdma_err_handlers,
	.driver.pm	= pm_sleep_ptr(&labdma_pm_ops),
};

static int __init labdma_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&labdma_devt, 0, LABDMA_MAX_DEVICES,
				  LABDMA_DRV_NAME);
	if (ret)
		return ret;
	labdma_class = class_create(LABDMA_DRV_NAME);
	if (IS_ERR(labdma_class)) {
		ret = PTR_ERR(labdma_class);
		goto err_region;
	}
	labdma_debugfs_init();
	ret = pci_register_driver(&labdma_pci_driver);
	if (ret)
		goto err_class;
	return 0;

err_class:
	labdma_debugfs_exit();
	class_destroy(labdma_class);
err_region:
	unregister_chrdev_region(labdma_devt, LABDMA_MAX_DEVICES);
	return ret;
}
module_init(labdma_init);

static void __exit labdma_exit(void)
{
	pci_unregister_driver(&labdma_pci_driver);
	labdma_debugfs_exit();
	class_destroy(labdma_class);
	unregister_chrdev_region(labdma_devt, LABDMA_MAX_DEVICES);
	ida_destroy(&labdma_ida);
}
module_exit(labdma_exit);

MODULE_DESCRIPTION("Driver for the lab's labdma PCIe DMA engine");
MODULE_AUTHOR("edulab");
MODULE_LICENSE("GPL");
