// SPDX-License-Identifier: GPL-2.0
/*
 * edu PCI glue: module parameters, probe/remove, power management and
 * module init/exit.
 */

#include <linux/dma-mapping.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/pm.h>
#include <linux/slab.h>

#include "edu_drv.h"

#define EDU_PCI_VENDOR_ID	0x1234	/* PCI_VENDOR_ID_QEMU, not in pci_ids.h */
#define EDU_PCI_DEVICE_ID	0x11e8
#define EDU_MAX_DEVICES		(MINORMASK + 1)

static unsigned int edu_dma_bits = 28;
static bool edu_force_intx;
/* policy defaults; each device has its own copy in sysfs */
static unsigned int edu_wait_mode = EDU_WAIT_HYBRID;
static unsigned int edu_hybrid_spin_us = 50;
static unsigned int edu_timeout_ms = 5000;
static unsigned int edu_staging_size = 16384;

static int edu_set_dma_bits(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 64);
}

static const struct kernel_param_ops edu_dma_bits_ops = {
	.set = edu_set_dma_bits,
	.get = param_get_uint,
};

module_param_cb(dma_bits, &edu_dma_bits_ops, &edu_dma_bits, 0444);
MODULE_PARM_DESC(dma_bits,
		 "DMA mask width in bits (default 28); must match QEMU's -device edu,dma_mask= (arm64 virt: 40 with dma_mask=0xffffffffff)");

module_param_named(force_intx, edu_force_intx, bool, 0444);
MODULE_PARM_DESC(force_intx, "Use legacy INTx instead of MSI (default false)");

static int edu_set_wait_mode(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, EDU_WAIT_IRQ, EDU_WAIT_HYBRID);
}

static const struct kernel_param_ops edu_wait_mode_ops = {
	.set = edu_set_wait_mode,
	.get = param_get_uint,
};

module_param_cb(wait_mode, &edu_wait_mode_ops, &edu_wait_mode, 0444);
MODULE_PARM_DESC(wait_mode,
		 "Initial sysfs wait_mode of each device: wait used for EDU_WAIT_DEFAULT, read and write: 1 irq, 2 poll, 3 hybrid (default 3)");

static int edu_set_spin_us(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, EDU_HYBRID_SPIN_MAX_US);
}

static const struct kernel_param_ops edu_spin_us_ops = {
	.set = edu_set_spin_us,
	.get = param_get_uint,
};

module_param_cb(hybrid_spin_us, &edu_spin_us_ops, &edu_hybrid_spin_us, 0444);
MODULE_PARM_DESC(hybrid_spin_us,
		 "Initial sysfs hybrid_spin_us of each device: polling budget of hybrid waits in microseconds, 0..10000 (default 50)");

static int edu_set_timeout_ms(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, EDU_TIMEOUT_MAX_MS);
}

static const struct kernel_param_ops edu_timeout_ms_ops = {
	.set = edu_set_timeout_ms,
	.get = param_get_uint,
};

module_param_cb(timeout_ms, &edu_timeout_ms_ops, &edu_timeout_ms, 0444);
MODULE_PARM_DESC(timeout_ms,
		 "Initial sysfs timeout_ms of each device: default operation timeout in milliseconds, 1..60000 (default 5000)");

static int edu_set_staging_size(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (!v || v > EDU_STAGING_MAX || !PAGE_ALIGNED(v))
		return -EINVAL;
	*(unsigned int *)kp->arg = v;
	return 0;
}

static const struct kernel_param_ops edu_staging_size_ops = {
	.set = edu_set_staging_size,
	.get = param_get_uint,
};

module_param_cb(staging_size, &edu_staging_size_ops, &edu_staging_size, 0444);
MODULE_PARM_DESC(staging_size,
		 "Per-open mmap-able staging buffer size in bytes, a page multiple up to 1 MiB (default 16384)");

static struct class *edu_class;
static dev_t edu_devt;
static DEFINE_IDA(edu_ida);

/* Last reference gone: no file, no sysfs user, no driver binding left. */
static void edu_dev_release(struct device *dev)
{
	struct edu_dev *edu = to_edu_dev(dev);

	ida_free(&edu_ida, edu->index);
	kfree(edu);
}

static int edu_setup_dma(struct edu_dev *edu)
{
	struct device *dev = &edu->pdev->dev;
	int ret;

	edu->dma_bits = edu_dma_bits;
	if (!IS_ENABLED(CONFIG_64BIT) && edu->dma_bits > 32)
		edu->dma_bits = 32;	/* 8-byte register writes needed */
	edu->dma_mask = DMA_BIT_MASK(edu->dma_bits);

	ret = dma_set_mask_and_coherent(dev, edu->dma_mask);
	if (ret) {
		dev_err(dev,
			"cannot use a %u-bit DMA mask (%d): no system memory is reachable with it; load the driver with dma_bits=N matching QEMU's '-device edu,dma_mask=' property (arm64 virt, RAM at 1 GiB: dma_mask=0xffffffffff and dma_bits=40)\n",
			edu->dma_bits, ret);
		return ret;
	}

	edu->bounce = dma_alloc_coherent(dev, EDU_DMA_BUF_SIZE,
					 &edu->bounce_dma, GFP_KERNEL);
	if (!edu->bounce)
		return -ENOMEM;
	return 0;
}

static int edu_setup_irq(struct edu_dev *edu)
{
	struct pci_dev *pdev = edu->pdev;
	unsigned int types = PCI_IRQ_INTX;
	int ret;

	if (!edu_force_intx)
		types |= PCI_IRQ_MSI;
	ret = pci_alloc_irq_vectors(pdev, 1, 1, types);
	if (ret < 0) {
		dev_err(&pdev->dev, "no usable interrupt: %d\n", ret);
		return ret;
	}
	edu->irq = pci_irq_vector(pdev, 0);
	edu->msi = pdev->msi_enabled;

	/* the handler may run as soon as it is requested (DEBUG_SHIRQ) */
	WRITE_ONCE(edu->irq_live, true);
	ret = pci_request_irq(pdev, 0, edu_irq_handler, NULL, edu, "%s",
			      dev_name(&edu->dev));
	if (ret) {
		WRITE_ONCE(edu->irq_live, false);
		dev_err(&pdev->dev, "cannot request IRQ %d: %d\n", edu->irq,
			ret);
		pci_free_irq_vectors(pdev);
	}
	return ret;
}

/*
 * The core found the DMA engine running past every deadline: it may write
 * anywhere it was pointed at, including memory the driver is about to
 * free.  Cut it off the bus now, and recover it with a function reset
 * (reset_prepare/reset_done below) from process context.
 */
static void edu_cut_off(struct edu_dev *edu)
{
	pci_clear_master(edu->pdev);
	if (!edu_is_dead(edu))
		schedule_delayed_work(&edu->recover_work, 0);
}

static void edu_recover_work(struct work_struct *work)
{
	struct edu_dev *edu = container_of(to_delayed_work(work),
					   struct edu_dev, recover_work);
	struct device *dev = &edu->pdev->dev;
	int ret;

	if (edu_is_dead(edu))
		return;
	dev_warn(dev, "resetting the device to recover it\n");
	ret = pci_try_reset_function(edu->pdev);
	if (ret == -EAGAIN) {
		/* the device lock is held: by remove, or by another reset */
		if (!edu_is_dead(edu))
			schedule_delayed_work(&edu->recover_work, HZ / 10);
		return;
	}
	if (ret || READ_ONCE(edu->broken)) {
		dev_err(dev,
			"recovery failed (%d); the device stays unusable until it is rebound\n",
			ret);
		return;
	}
	atomic64_inc(&edu->stats.recoveries);
	dev_info(dev, "recovered by a function reset\n");
}

static void edu_teardown_irq(struct edu_dev *edu)
{
	WRITE_ONCE(edu->irq_live, false);
	pci_free_irq(edu->pdev, 0, edu);
	pci_free_irq_vectors(edu->pdev);
}

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct edu_dev *edu;
	int ret;

	edu = kzalloc(sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu_dev_init(edu);
	edu->pdev = pdev;
	edu->dma_dev = dev;
	edu->cut_off = edu_cut_off;
	INIT_DELAYED_WORK(&edu->recover_work, edu_recover_work);
	edu->wait_mode = edu_wait_mode;
	edu->hybrid_spin_us = edu_hybrid_spin_us;
	edu->timeout_ms = edu_timeout_ms;

	ret = ida_alloc_max(&edu_ida, EDU_MAX_DEVICES - 1, GFP_KERNEL);
	if (ret < 0) {
		kfree(edu);
		return ret;
	}
	edu->index = ret;

	/* from here on put_device() frees @edu and its index */
	device_initialize(&edu->dev);
	edu->dev.class = edu_class;
	edu->dev.parent = dev;
	edu->dev.devt = MKDEV(MAJOR(edu_devt), edu->index);
	edu->dev.groups = edu_groups;
	edu->dev.release = edu_dev_release;
	ret = dev_set_name(&edu->dev, "edu%d", edu->index);
	if (ret)
		goto err_put;

	ret = pcim_enable_device(pdev);
	if (ret) {
		dev_err(dev, "cannot enable PCI device: %d\n", ret);
		goto err_put;
	}
	if (!(pci_resource_flags(pdev, 0) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, 0) < EDU_BAR0_MIN_LEN) {
		dev_err(dev, "BAR0 is not a memory BAR of at least %#x bytes\n",
			EDU_BAR0_MIN_LEN);
		ret = -ENODEV;
		goto err_put;
	}
	ret = pcim_iomap_regions(pdev, BIT(0), EDU_DRV_NAME);
	if (ret) {
		dev_err(dev, "cannot map BAR0: %d\n", ret);
		goto err_put;
	}
	edu->regs = pcim_iomap_table(pdev)[0];

	edu->id_register = readl(edu->regs + EDU_REG_ID);
	if (!edu_id_supported(edu->id_register)) {
		dev_err(dev,
			"unsupported device: identification register 0x%08x (major %u, minor %u); this driver supports major %u (0x%02x??00ed)\n",
			edu->id_register, EDU_ID_MAJOR(edu->id_register),
			EDU_ID_MINOR(edu->id_register), EDU_ID_KNOWN_MAJOR,
			EDU_ID_KNOWN_MAJOR);
		ret = -ENODEV;
		goto err_put;
	}

	pci_set_master(pdev);
	ret = edu_setup_dma(edu);
	if (ret)
		goto err_put;
	edu->staging_size = PAGE_ALIGN(edu_staging_size);
	edu->staging_budget = max_t(unsigned long, EDU_STAGING_BUDGET,
				    edu->staging_size);

	edu_hw_init(edu);
	ret = edu_setup_irq(edu);
	if (ret)
		goto err_free_bounce;

	pci_set_drvdata(pdev, edu);
	edu_debugfs_add(edu);

	cdev_init(&edu->cdev, &edu_fops);
	edu->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&edu->cdev, &edu->dev);
	if (ret) {
		dev_err(dev, "cannot add %s: %d\n", dev_name(&edu->dev), ret);
		goto err_debugfs;
	}

	/* what AER recovery restores after a link reset */
	pci_save_state(pdev);
	dev_info(dev, "%s: edu v%u.%u (id 0x%08x), %s IRQ %d, %u-bit DMA\n",
		 dev_name(&edu->dev), EDU_ID_MAJOR(edu->id_register),
		 EDU_ID_MINOR(edu->id_register), edu->id_register,
		 edu->msi ? "MSI" : "INTx", edu->irq, edu->dma_bits);
	return 0;

err_debugfs:
	edu_debugfs_remove(edu);
	edu_teardown_irq(edu);
err_free_bounce:
	dma_free_coherent(dev, EDU_DMA_BUF_SIZE, edu->bounce, edu->bounce_dma);
err_put:
	put_device(&edu->dev);
	return ret;
}

/*
 * Runs for driver unbind, module unload and hot-unplug, possibly with files
 * open and operations in flight.  After it returns nothing touches the
 * device, and no DMA API call is made for it; open files are orphaned.
 */
static void edu_remove(struct pci_dev *pdev)
{
	struct edu_dev *edu = pci_get_drvdata(pdev);

	dev_dbg(&pdev->dev, "removing %s\n", dev_name(&edu->dev));
	edu_debugfs_remove(edu);
	cdev_device_del(&edu->cdev, &edu->dev);

	edu_kill(edu);
	/* after the kill, so it cannot be queued again */
	cancel_delayed_work_sync(&edu->recover_work);
	edu_files_hangup(edu);
	edu_drain(edu);
	edu_files_teardown(edu);
	edu_hw_quiesce(edu);
	edu_teardown_irq(edu);

	pci_clear_master(pdev);
	dma_free_coherent(&pdev->dev, EDU_DMA_BUF_SIZE, edu->bounce,
			  edu->bounce_dma);
	edu->bounce = NULL;
	put_device(&edu->dev);
}

/*
 * Reboot/kexec: stop the device from writing memory or raising interrupts
 * behind the next kernel's back.  User space still runs while devices shut
 * down, so the gate is shut for good first, as remove does: an ioctl racing
 * with us fails with -ENODEV instead of re-enabling interrupts or starting
 * a transfer that QEMU would drop once bus mastering is off.  Waiting for
 * what is in flight is bounded, a reboot must not hang on a dead device.
 */
static void edu_shutdown(struct pci_dev *pdev)
{
	struct edu_dev *edu = pci_get_drvdata(pdev);
	unsigned int in_flight;

	in_flight = edu_kill(edu);
	edu_files_hangup(edu);
	if (edu_drain_timeout(edu, EDU_DMA_DRAIN_MS))
		dev_warn(&pdev->dev,
			 "operations still running at shutdown\n");
	edu_hw_quiesce(edu);
	pci_clear_master(pdev);
	dev_info(&pdev->dev, "shut down, %u operation(s) were in flight\n",
		 in_flight);
}

static int edu_pm_suspend(struct device *dev)
{
	struct edu_dev *edu = dev_get_drvdata(dev);
	int ret;

	ret = edu_suspend_drain(edu);
	if (ret)
		dev_err(dev, "operations did not drain; refusing to suspend\n");
	else
		dev_dbg(dev, "suspended\n");
	return ret;
}

/* After resume or a reset: is it still our device?  Then set it up again. */
static bool edu_hw_restart(struct edu_dev *edu, const char *after)
{
	u32 id = readl(edu->regs + EDU_REG_ID);

	if (!edu_id_supported(id)) {
		dev_err(&edu->pdev->dev,
			"identification register reads 0x%08x after %s; device disabled\n",
			id, after);
		return false;
	}
	edu->id_register = id;
	edu_hw_init(edu);
	/* the restored command register may have it off (edu_cut_off()) */
	pci_set_master(edu->pdev);
	dev_dbg(&edu->pdev->dev, "%s done\n", after);
	return true;
}

static int edu_pm_resume(struct device *dev)
{
	struct edu_dev *edu = dev_get_drvdata(dev);
	bool ok = edu_hw_restart(edu, "resume");

	edu_gate_open(edu, ok);
	return ok ? 0 : -ENODEV;
}

static DEFINE_SIMPLE_DEV_PM_OPS(edu_pm_ops, edu_pm_suspend, edu_pm_resume);

/*
 * Function reset (sysfs "reset", VFIO, a driver's pci_reset_function()):
 * gate I/O as suspend does.  Every operation ends within its timeout, so
 * the wait is bounded; reset_prepare cannot refuse, so when one is still
 * running after that (a stuck device) the reset goes ahead and the device
 * stays marked broken (-EIO) until a later reset finds it idle and sane.
 */
static void edu_pci_reset_prepare(struct pci_dev *pdev)
{
	struct edu_dev *edu = pci_get_drvdata(pdev);

	edu->reset_unclean = edu_gate_close(edu, EDU_TIMEOUT_MAX_MS +
					    EDU_DMA_DRAIN_MS) != 0;
	if (edu->reset_unclean)
		dev_err(&pdev->dev, "operations still running at reset\n");
	edu_hw_quiesce(edu);
}

static void edu_pci_reset_done(struct pci_dev *pdev)
{
	struct edu_dev *edu = pci_get_drvdata(pdev);
	bool ok = edu_hw_restart(edu, "reset");

	/* the core's restore consumed the saved state AER recovery needs */
	pci_save_state(pdev);
	edu_gate_open(edu, ok && !edu->reset_unclean);
}

/*
 * AER recovery.  On an uncorrectable error new I/O is held at the gate and
 * what is in flight gets a DMA transfer's time to end (its MMIO may already
 * read all ones, which fails it with -ENODEV); a non-fatal error needs no
 * reset, a fatal one resets the link, after which the configuration space
 * is restored and the device must identify itself again.
 */
static pci_ers_result_t edu_pci_error_detected(struct pci_dev *pdev,
					       pci_channel_state_t state)
{
	struct edu_dev *edu = pci_get_drvdata(pdev);

	dev_warn(&pdev->dev, "PCI error (channel state %d): holding I/O\n",
		 state);
	if (state == pci_channel_io_perm_failure)
		return PCI_ERS_RESULT_DISCONNECT;	/* remove follows */
	edu_gate_close(edu, EDU_DMA_DRAIN_MS);
	return state == pci_channel_io_normal ? PCI_ERS_RESULT_CAN_RECOVER :
						PCI_ERS_RESULT_NEED_RESET;
}

static pci_ers_result_t edu_pci_slot_reset(struct pci_dev *pdev)
{
	struct edu_dev *edu = pci_get_drvdata(pdev);

	pci_restore_state(pdev);
	pci_save_state(pdev);
	if (edu_id_supported(readl(edu->regs + EDU_REG_ID)))
		return PCI_ERS_RESULT_RECOVERED;
	edu_gate_open(edu, false);	/* no resume follows: fail, not hold */
	return PCI_ERS_RESULT_DISCONNECT;
}

static void edu_pci_error_resume(struct pci_dev *pdev)
{
	struct edu_dev *edu = pci_get_drvdata(pdev);
	bool ok = edu_hw_restart(edu, "PCI error recovery");

	edu_gate_open(edu, ok);
	if (ok)
		dev_info(&pdev->dev, "recovered from a PCI error\n");
}

static const struct pci_error_handlers edu_err_handlers = {
	.error_detected	= edu_pci_error_detected,
	.slot_reset	= edu_pci_slot_reset,
	.resume		= edu_pci_error_resume,
	.reset_prepare	= edu_pci_reset_prepare,
	.reset_done	= edu_pci_reset_done,
};

static const struct pci_device_id edu_pci_ids[] = {
	{ PCI_DEVICE(EDU_PCI_VENDOR_ID, EDU_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_pci_ids);

static struct pci_driver edu_pci_driver = {
	.name		= EDU_DRV_NAME,
	.id_table	= edu_pci_ids,
	.probe		= edu_probe,
	.remove		= edu_remove,
	.shutdown	= edu_shutdown,
	.err_handler	= &edu_err_handlers,
	.driver.pm	= pm_sleep_ptr(&edu_pm_ops),
};

static int __init edu_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&edu_devt, 0, EDU_MAX_DEVICES, EDU_DRV_NAME);
	if (ret)
		return ret;

	edu_class = class_create(EDU_DRV_NAME);
	if (IS_ERR(edu_class)) {
		ret = PTR_ERR(edu_class);
		goto err_region;
	}

	edu_debugfs_init();

	ret = pci_register_driver(&edu_pci_driver);
	if (ret)
		goto err_class;
	return 0;

err_class:
	edu_debugfs_exit();
	class_destroy(edu_class);
err_region:
	unregister_chrdev_region(edu_devt, EDU_MAX_DEVICES);
	return ret;
}
module_init(edu_init);

static void __exit edu_cleanup(void)
{
	pci_unregister_driver(&edu_pci_driver);
	edu_debugfs_exit();
	class_destroy(edu_class);
	unregister_chrdev_region(edu_devt, EDU_MAX_DEVICES);
	ida_destroy(&edu_ida);
}
module_exit(edu_cleanup);

MODULE_DESCRIPTION("Driver for QEMU's edu educational PCI device");
MODULE_AUTHOR("edulab");
MODULE_LICENSE("GPL");
