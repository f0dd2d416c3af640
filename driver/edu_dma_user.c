// SPDX-License-Identifier: GPL-2.0
/*
 * EDU_IOC_DMA_USER: DMA between pinned user memory and the device buffer.
 *
 * The user range is handled as a stream, EDU_USER_BATCH_BYTES at a time:
 * pin the pages of the batch (pin_user_pages_fast), build an sg_table and
 * map it for streaming DMA (dma_map_sgtable), move the batch through the
 * 4095-byte device window chunk by chunk, unmap, unpin (marking pages the
 * device wrote dirty).  Memory use is bounded whatever the length.
 *
 * Every device transfer costs 100 ms however short it is, so a transfer
 * covers as much of a DMA-contiguous segment as the window allows: with an
 * IOMMU (one IOVA range) or physically contiguous pages a chunk is a single
 * 4095-byte transfer; otherwise it is split at segment boundaries only.
 *
 * Reachability: the device silently masks addresses to its DMA mask.  When
 * the mask cannot address all memory and no IOMMU translates for us, pages
 * beyond the mask are never handed to dma_map_sg() (SWIOTLB's pool may be
 * out of reach, too); such a batch goes through the device's coherent
 * bounce buffer with a CPU copy instead.  Every mapped segment is checked
 * against the mask again before it is programmed (edu_dma_program() checks
 * once more).
 */

#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "edu_drv.h"

/* 64 full windows: ~256 KiB pinned and mapped at a time per side. */
#define EDU_USER_BATCH_BYTES	(64U * EDU_DMA_WINDOW)
#define EDU_USER_BATCH_PAGES	(DIV_ROUND_UP(EDU_USER_BATCH_BYTES, PAGE_SIZE) + 1)

/**
 * struct edu_ubuf - one side (source or destination) of a transfer
 * @uaddr:         user address of stream offset 0
 * @device_writes: the device writes this memory (pin with FOLL_WRITE)
 * @dir:           streaming DMA direction
 * @pages:         pinned pages of the current batch
 * @npages:        number of entries in @pages that are pinned
 * @offset:        offset of the batch start in @pages[0]
 * @bounce:        CPU-copy through edu->bounce (pages beyond the mask)
 * @mapped:        @sgt is DMA mapped
 * @sgt:           the batch's scatter/gather table
 * @sg:            DMA segment cursor: current entry
 * @sg_left:       DMA segments left, including @sg
 * @sg_off:        bytes of @sg already consumed
 */
struct edu_ubuf {
	u64 uaddr;
	bool device_writes;
	enum dma_data_direction dir;
	struct page **pages;
	unsigned int npages;
	unsigned int offset;
	bool bounce;
	bool mapped;
	struct sg_table sgt;
	struct scatterlist *sg;
	unsigned int sg_left;
	u32 sg_off;
};

/**
 * struct edu_ureq - one EDU_IOC_DMA_USER call
 * @edu:         device
 * @direction:   EDU_DMA_*
 * @length:      stream length (clamped to the window for TO/FROM_DEVICE)
 * @dev_base:    device buffer offset of stream offset 0 of each chunk
 * @mode:        EDU_WAIT_* for the transfers
 * @reach_check: pages must be checked against the DMA mask before mapping
 * @restartable: the whole call may be repeated after a signal
 * @max_seg:     largest sg segment to build
 * @src:         source side (TO_DEVICE, LOOPBACK)
 * @dst:         destination side (FROM_DEVICE, LOOPBACK)
 * @done:        bytes that reached their destination
 */
struct edu_ureq {
	struct edu_dev *edu;
	u32 direction;
	u64 length;
	u32 dev_base;
	unsigned int mode;
	bool reach_check;
	bool restartable;
	unsigned int max_seg;
	struct edu_ubuf src;
	struct edu_ubuf dst;
	u64 done;
};

static struct device *edu_dma_dev(struct edu_ureq *r)
{
	return &r->edu->pdev->dev;
}

static bool edu_uses_src(struct edu_ureq *r)
{
	return r->direction != EDU_DMA_FROM_DEVICE;
}

static bool edu_uses_dst(struct edu_ureq *r)
{
	return r->direction != EDU_DMA_TO_DEVICE;
}

/* Does an IOMMU translate this device's DMA (so any page is reachable)? */
static bool edu_dma_translated(struct device *dev)
{
	struct iommu_domain *dom;

	if (!device_iommu_mapped(dev))
		return false;
	dom = iommu_get_domain_for_dev(dev);
	return dom && (dom->type & __IOMMU_DOMAIN_PAGING);
}

static void edu_ubuf_unpin(struct edu_ubuf *b)
{
	if (!b->npages)
		return;
	if (b->device_writes)
		unpin_user_pages_dirty_lock(b->pages, b->npages, true);
	else
		unpin_user_pages(b->pages, b->npages);
	b->npages = 0;
}

/*
 * Pin the pages behind @len bytes of the stream from r->done.  Return the
 * number of bytes the pinned pages cover (less than @len when the range is
 * only partly mapped or writable: the caller moves that much, then fails
 * with -EFAULT), or a negative errno.
 */
static int edu_ubuf_pin(struct edu_ureq *r, struct edu_ubuf *b, u32 len)
{
	u64 start = b->uaddr + r->done;
	unsigned int i, n;
	int ret;

	b->offset = offset_in_page(start);
	n = DIV_ROUND_UP(b->offset + len, PAGE_SIZE);
	ret = pin_user_pages_fast(start & PAGE_MASK, n,
				  b->device_writes ? FOLL_WRITE : 0, b->pages);
	if (ret <= 0)
		return ret == -ENOMEM ? ret : -EFAULT;
	b->npages = ret;
	if (ret < n)
		len = ret * PAGE_SIZE - b->offset;

	b->bounce = false;
	if (!r->reach_check)
		return len;
	for (i = 0; i < b->npages; i++) {
		if (page_to_phys(b->pages[i]) + PAGE_SIZE - 1 > r->edu->dma_mask) {
			b->bounce = true;
			dev_dbg(&r->edu->dev,
				"user page beyond the DMA mask: CPU bounce\n");
			break;
		}
	}
	return len;
}

static void edu_ubuf_unmap(struct edu_ureq *r, struct edu_ubuf *b)
{
	if (!b->mapped)
		return;
	dma_unmap_sgtable(edu_dma_dev(r), &b->sgt, b->dir, 0);
	sg_free_table(&b->sgt);
	b->mapped = false;
}

static int edu_ubuf_map(struct edu_ureq *r, struct edu_ubuf *b, u32 len)
{
	struct edu_dev *edu = r->edu;
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	if (b->bounce)
		return 0;
	ret = sg_alloc_table_from_pages_segment(&b->sgt, b->pages,
						DIV_ROUND_UP(b->offset + len,
							     PAGE_SIZE),
						b->offset, len, r->max_seg,
						GFP_KERNEL);
	if (ret)
		return ret;
	ret = dma_map_sgtable(edu_dma_dev(r), &b->sgt, b->dir, 0);
	if (ret) {
		sg_free_table(&b->sgt);
		atomic64_inc(&edu->stats.errors);
		dev_err_ratelimited(&edu->dev, "dma_map_sgtable failed: %d\n",
				    ret);
		return ret == -ENOMEM ? ret : -EIO;
	}
	b->mapped = true;

	for_each_sgtable_dma_sg(&b->sgt, sg, i) {
		dma_addr_t a = sg_dma_address(sg);
		u32 n = sg_dma_len(sg);

		if (!n || a > edu->dma_mask || n - 1 > edu->dma_mask - a) {
			dev_err_ratelimited(&edu->dev,
					    "mapped segment %pad+%u beyond the %u-bit DMA mask\n",
					    &a, n, edu->dma_bits);
			atomic64_inc(&edu->stats.errors);
			edu_ubuf_unmap(r, b);
			return -EIO;
		}
	}

	b->sg = b->sgt.sgl;
	b->sg_left = b->sgt.nents;
	b->sg_off = 0;
	return 0;
}

/*
 * Next DMA-contiguous piece of at most @max bytes.  Adjacent segments that
 * continue each other in DMA address space (an IOMMU's single IOVA range,
 * physically contiguous pages split at the max segment size) are merged:
 * the device sees one address range per transfer and nothing else.
 */
static bool edu_ubuf_next(struct edu_ubuf *b, u32 max, dma_addr_t *addr,
			  u32 *len)
{
	dma_addr_t start = 0, cur;
	u32 got = 0, n;

	while (got < max) {
		while (b->sg_left && b->sg_off == sg_dma_len(b->sg)) {
			b->sg = sg_next(b->sg);
			b->sg_left--;
			b->sg_off = 0;
		}
		if (!b->sg_left)
			break;
		cur = sg_dma_address(b->sg) + b->sg_off;
		if (!got)
			start = cur;
		else if (cur != start + got)
			break;
		n = min_t(u32, max - got, sg_dma_len(b->sg) - b->sg_off);
		b->sg_off += n;
		got += n;
	}
	*addr = start;
	*len = got;
	return got;
}

/* CPU copy between batch bytes [pos, pos + len) and a kernel buffer. */
static void edu_ubuf_copy(struct edu_ubuf *b, u32 pos, u8 *kbuf, u32 len,
			  bool to_user)
{
	size_t abs = (size_t)b->offset + pos;

	while (len) {
		struct page *page = b->pages[abs >> PAGE_SHIFT];
		u32 off = offset_in_page(abs);
		u32 n = min_t(u32, len, PAGE_SIZE - off);

		if (to_user)
			memcpy_to_page(page, off, kbuf, n);
		else
			memcpy_from_page(kbuf, page, off, n);
		kbuf += n;
		abs += n;
		len -= n;
	}
}

/*
 * Batch bytes [pos, pos + len) of one side <-> the device buffer at
 * r->dev_base: the source side goes @to_dev, the destination side comes
 * from it.  r->done counts bytes at their final destination, so the
 * source half of a loopback does not count.
 */
static int edu_ureq_move(struct edu_ureq *r, bool to_dev, u32 pos, u32 len)
{
	struct edu_dev *edu = r->edu;
	struct edu_ubuf *b = to_dev ? &r->src : &r->dst;
	bool count = !to_dev || r->direction == EDU_DMA_TO_DEVICE;
	u32 dev_off = r->dev_base;
	dma_addr_t addr;
	u32 n;
	int ret;

	if (b->bounce) {
		if (to_dev)
			edu_ubuf_copy(b, pos, edu->bounce, len, false);
		ret = edu_dma_xfer(edu, edu->bounce_dma, dev_off, len, to_dev,
				   r->mode);
		if (ret)
			return ret;
		if (!to_dev)
			edu_ubuf_copy(b, pos, edu->bounce, len, true);
		if (count)
			r->done += len;
		return 0;
	}
	while (len) {
		if (WARN_ON_ONCE(!edu_ubuf_next(b, len, &addr, &n)))
			return -EIO;
		ret = edu_dma_xfer(edu, addr, dev_off, n, to_dev, r->mode);
		if (ret)
			return ret;
		if (count)
			r->done += n;
		dev_off += n;
		len -= n;
	}
	return 0;
}

/* One window's worth, under the DMA claim (which also covers edu->bounce). */
static int edu_ureq_chunk(struct edu_ureq *r, u32 pos, u32 len)
{
	struct edu_dev *edu = r->edu;
	int ret;

	ret = edu_unit_claim(edu, &edu->dma, false);
	if (ret)
		return ret;
	if (edu_uses_src(r))
		ret = edu_ureq_move(r, true, pos, len);
	if (!ret && edu_uses_dst(r))
		ret = edu_ureq_move(r, false, pos, len);
	edu_unit_release(edu, &edu->dma);
	return ret;
}

/*
 * One batch: pinning happens outside the gate (it may fault and sleep for
 * long); mapping, transfers and unmapping happen inside it.  The batch
 * stops early at a chunk boundary for remove, suspend and signals; the
 * caller resumes from r->done.
 */
static int edu_ureq_batch(struct edu_ureq *r, u32 blen)
{
	struct edu_dev *edu = r->edu;
	u32 avail = blen, pos = 0, len;
	int ret = 0;

	if (edu_uses_src(r)) {
		ret = edu_ubuf_pin(r, &r->src, blen);
		if (ret < 0)
			goto out_unpin;
		avail = min_t(u32, avail, ret);
	}
	if (edu_uses_dst(r)) {
		ret = edu_ubuf_pin(r, &r->dst, blen);
		if (ret < 0)
			goto out_unpin;
		avail = min_t(u32, avail, ret);
	}

	ret = edu_enter(edu, EDU_ENTER_HW);
	if (ret)
		goto out_unpin;
	if (edu_uses_src(r))
		ret = edu_ubuf_map(r, &r->src, avail);
	if (!ret && edu_uses_dst(r))
		ret = edu_ubuf_map(r, &r->dst, avail);

	while (!ret && pos < avail) {
		if (pos && (edu_is_dead(edu) || READ_ONCE(edu->suspended) ||
			    signal_pending(current)))
			break;
		len = min_t(u32, avail - pos, EDU_DMA_WINDOW - r->dev_base);
		ret = edu_ureq_chunk(r, pos, len);
		pos += len;
	}

	edu_ubuf_unmap(r, &r->dst);
	edu_ubuf_unmap(r, &r->src);
	edu_leave(edu);
	/* all that was mapped has been moved: the rest is not */
	if (!ret && pos >= avail && avail < blen)
		ret = -EFAULT;
out_unpin:
	edu_ubuf_unpin(&r->dst);
	edu_ubuf_unpin(&r->src);
	return ret;
}

static int edu_ureq_run(struct edu_ureq *r)
{
	u32 blen;
	int ret;

	while (r->done < r->length) {
		/*
		 * A signal whose handler runs turns this into -EINTR with
		 * r->done reported.  Otherwise (freezer, stop signals) the call
		 * restarts from scratch, which repeats the same transfers -
		 * unless a loopback's ranges overlap and repeating is not
		 * idempotent.
		 */
		if (signal_pending(current))
			return r->done && !r->restartable ? -EINTR :
			       -ERESTARTNOHAND;
		blen = min_t(u64, r->length - r->done, EDU_USER_BATCH_BYTES);
		ret = edu_ureq_batch(r, blen);
		if (ret == -ERESTARTNOHAND)
			continue;	/* an interrupted wait: check above */
		if (ret)
			return ret;
	}
	return 0;
}

static int edu_ubuf_setup(struct edu_ubuf *b, u64 uaddr, u64 len,
			  bool device_writes)
{
	if (uaddr != (unsigned long)uaddr ||
	    !access_ok(u64_to_user_ptr(uaddr), len))
		return -EFAULT;
	b->uaddr = uaddr;
	b->device_writes = device_writes;
	b->dir = device_writes ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	b->pages = kmalloc_array(EDU_USER_BATCH_PAGES, sizeof(*b->pages),
				 GFP_KERNEL);
	return b->pages ? 0 : -ENOMEM;
}

static int edu_dma_user_check(const struct edu_dma_user *req)
{
	if (req->flags || req->reserved[0] || req->reserved[1] || !req->length)
		return -EINVAL;
	switch (req->direction) {
	case EDU_DMA_TO_DEVICE:
		if (req->dst || req->device_offset >= EDU_DMA_WINDOW)
			return -EINVAL;
		return 0;
	case EDU_DMA_FROM_DEVICE:
		if (req->src || req->device_offset >= EDU_DMA_WINDOW)
			return -EINVAL;
		return 0;
	case EDU_DMA_LOOPBACK:
		return req->device_offset ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

static int edu_dma_user(struct edu_dev *edu, const struct edu_dma_user *req,
			u64 *done)
{
	struct edu_ureq *r;
	int ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->edu = edu;
	r->direction = req->direction;
	r->dev_base = req->device_offset;
	r->length = req->length;
	if (req->direction != EDU_DMA_LOOPBACK)
		r->length = min_t(u64, req->length,
				  EDU_DMA_WINDOW - req->device_offset);
	r->mode = edu_resolve_wait(EDU_WAIT_DEFAULT);
	r->restartable = r->direction != EDU_DMA_LOOPBACK ||
			 req->src >= req->dst + r->length ||
			 req->dst >= req->src + r->length;

	ret = 0;
	if (edu_uses_src(r))
		ret = edu_ubuf_setup(&r->src, req->src, r->length, false);
	if (!ret && edu_uses_dst(r))
		ret = edu_ubuf_setup(&r->dst, req->dst, r->length, true);
	if (ret)
		goto out_free;

	/* Device properties: only valid inside a gate section. */
	ret = edu_enter(edu, 0);
	if (ret)
		goto out_free;
	r->reach_check = dma_addressing_limited(edu_dma_dev(r)) &&
			 !edu_dma_translated(edu_dma_dev(r));
	r->max_seg = max_t(unsigned int, PAGE_SIZE,
			   round_down(dma_get_max_seg_size(edu_dma_dev(r)),
				      PAGE_SIZE));
	edu_leave(edu);

	dev_dbg(&edu->dev, "DMA_USER dir %u len %llu%s\n", r->direction,
		r->length, r->reach_check ? " (mask-limited)" : "");
	ret = edu_ureq_run(r);
	*done = r->done;
out_free:
	kfree(r->dst.pages);
	kfree(r->src.pages);
	kfree(r);
	return ret;
}

/* Once the request was read, @done is written back whatever the outcome. */
long edu_ioctl_dma_user(struct edu_file *ef, void __user *uarg)
{
	struct edu_dev *edu = ef->edu;
	struct edu_dma_user req;
	u64 done = 0;
	int ret;

	if (edu_is_dead(edu))
		return -ENODEV;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	ret = edu_dma_user_check(&req);
	if (!ret)
		ret = edu_dma_user(edu, &req, &done);
	req.done = done;
	if (copy_to_user(uarg, &req, sizeof(req)))
		return -EFAULT;
	return ret;
}
