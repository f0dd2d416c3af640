// SPDX-License-Identifier: GPL-2.0
/*
 * EDU_IOC_DMA_USER: DMA between pinned user memory and the device buffer.
 *
 * The user range is handled as a stream, EDU_USER_BATCH_BYTES at a time:
 * pin the pages of the batch (pin_user_pages_fast, outside the gate: it may
 * fault and sleep for long), then move the batch through the 4095-byte
 * device window chunk by chunk, then unpin (marking pages the device wrote
 * dirty).  Memory use is bounded whatever the length.
 *
 * A chunk is mapped for streaming DMA only while the DMA engine is ours:
 * claim, map the source part, transfer, unmap, map the destination part,
 * transfer, unmap, release.  So no two mappings of one call, or of two
 * calls on the same device, are ever live at once, and what the device
 * reads is what the user had when the chunk started (with or without
 * SWIOTLB).
 *
 * Memory the device writes must not share a cache line with anything the
 * CPU may write meanwhile (dma_get_cache_alignment(); on non-coherent
 * platforms a partial line loses the CPU's writes, and dma-debug rejects
 * two such mappings of one line).  So the chunk holding the destination's
 * first or last byte goes through the device's coherent bounce buffer with
 * a CPU copy when that byte is in the middle of a line.  Chunks in between
 * take whole windows: a line split between two of them holds only the
 * request's own bytes, mapped one chunk after the other (and a chunk whose
 * two pages are one physical page, a destination mapped twice, is bounced).
 *
 * Reachability: the device silently masks addresses to its DMA mask, and
 * the DMA API warns (rather than fails) when neither a page nor SWIOTLB's
 * pool is in reach (dma_direct_map_page(), swiotlb_map()).  So when the
 * mask cannot address all memory and no IOMMU translates for the device,
 * each piece is checked first with the DMA layer's own translation
 * (phys_to_dma() and dma_capable(), which know about bus offsets; with
 * SWIOTLB forced, every chunk is bounced), and the mapped segments are
 * checked again; a chunk that fails either check is bounced.
 * edu_dma_program() checks every address once more.
 */

#include <linux/cache.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/swiotlb.h>
#include <linux/uaccess.h>

#include "edu_drv.h"

/* 64 full windows: ~256 KiB pinned at a time per side. */
#define EDU_USER_BATCH_BYTES	(64U * EDU_DMA_WINDOW)
#define EDU_USER_BATCH_PAGES	(DIV_ROUND_UP(EDU_USER_BATCH_BYTES, PAGE_SIZE) + 1)
/* A chunk is shorter than a page, so it spans at most two. */
#define EDU_CHUNK_PAGES		2

/**
 * struct edu_ubuf - one side (source or destination) of a transfer
 * @uaddr:         user address of stream offset 0
 * @device_writes: the device writes this memory (pin with FOLL_WRITE)
 * @dir:           streaming DMA direction
 * @pages:         pinned pages of the current batch
 * @npages:        number of entries in @pages that are pinned
 * @offset:        offset of the batch start in @pages[0]
 * @sgl:           the current chunk's pages
 * @nents:         entries of @sgl mapped for DMA (0: not mapped)
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
	struct scatterlist sgl[EDU_CHUNK_PAGES];
	int nents;
	struct scatterlist *sg;
	int sg_left;
	u32 sg_off;
};

/**
 * struct edu_ureq - one EDU_IOC_DMA_USER call
 * @edu:         device
 * @direction:   EDU_DMA_*
 * @length:      stream length (clamped to the window for TO/FROM_DEVICE)
 * @dev_base:    device buffer offset of stream offset 0 of each chunk
 * @mode:        EDU_WAIT_* for the transfers
 * @reach_check: pieces must be checked against the DMA mask before mapping
 * @line:        cache line size for DMA (a power of two)
 * @batch_start: stream offset of the current batch
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
	unsigned int line;
	u64 batch_start;
	struct edu_ubuf src;
	struct edu_ubuf dst;
	u64 done;
};

static struct device *edu_dma_dev(struct edu_ureq *r)
{
	return r->edu->dma_dev;
}

static bool edu_uses_src(struct edu_ureq *r)
{
	return r->direction != EDU_DMA_FROM_DEVICE;
}

static bool edu_uses_dst(struct edu_ureq *r)
{
	return r->direction != EDU_DMA_TO_DEVICE;
}

/* Does an IOMMU's DMA domain translate this device's DMA (any page fits)? */
static bool edu_dma_translated(struct device *dev)
{
	struct iommu_domain *dom;

	if (!device_iommu_mapped(dev))
		return false;
	dom = iommu_get_domain_for_dev(dev);
	return dom && iommu_is_dma_domain(dom);
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
 * with -EFAULT), or pin_user_pages_fast()'s error.
 */
static int edu_ubuf_pin(struct edu_ureq *r, struct edu_ubuf *b, u32 len)
{
	u64 start = b->uaddr + r->done;
	unsigned int n;
	int ret;

	b->offset = offset_in_page(start);
	n = DIV_ROUND_UP(b->offset + len, PAGE_SIZE);
	ret = pin_user_pages_fast(start & PAGE_MASK, n,
				  b->device_writes ? FOLL_WRITE : 0, b->pages);
	if (ret < 0)
		return ret;
	if (!ret)
		return -EFAULT;
	b->npages = ret;
	if (ret < n)
		len = ret * PAGE_SIZE - b->offset;
	return len;
}

/* Build b->sgl over batch bytes [pos, pos + len); return the entries. */
static int edu_ubuf_chunk_sgl(struct edu_ubuf *b, u32 pos, u32 len)
{
	size_t abs = (size_t)b->offset + pos;
	int n = 0;

	sg_init_table(b->sgl, EDU_CHUNK_PAGES);
	while (len) {
		u32 off = offset_in_page(abs);
		u32 piece = min_t(u32, len, PAGE_SIZE - off);

		if (WARN_ON_ONCE(n == EDU_CHUNK_PAGES))
			return -EIO;
		sg_set_page(&b->sgl[n++], b->pages[abs >> PAGE_SHIFT], piece,
			    off);
		abs += piece;
		len -= piece;
	}
	sg_mark_end(&b->sgl[n - 1]);
	return n;
}

/* Would the DMA layer hand the device addresses inside its mask? */
static bool edu_ubuf_reachable(struct edu_ureq *r, struct edu_ubuf *b,
			       int nents)
{
	struct device *dev = edu_dma_dev(r);
	int i;

	if (!r->reach_check)
		return true;
	/* SWIOTLB's pool need not be below the device's mask either. */
	if (is_swiotlb_force_bounce(dev))
		return false;
	for (i = 0; i < nents; i++) {
		phys_addr_t phys = sg_phys(&b->sgl[i]);

		if (!dma_capable(dev, phys_to_dma(dev, phys), b->sgl[i].length,
				 true))
			return false;
	}
	return true;
}

static void edu_ubuf_unmap(struct edu_ureq *r, struct edu_ubuf *b)
{
	if (!b->nents)
		return;
	dma_unmap_sg(edu_dma_dev(r), b->sgl, b->nents, b->dir);
	b->nents = 0;
}

/*
 * Does batch bytes [pos, pos + len) of @b share a cache line with memory
 * outside the request?  Only at the request's own first and last bytes: a
 * line split between two chunks holds the request's bytes on both sides,
 * mapped one after the other, never at the same time.
 */
static bool edu_ubuf_partial_lines(struct edu_ureq *r, struct edu_ubuf *b,
				   u32 pos, u32 len)
{
	u64 start = b->uaddr + r->batch_start + pos;
	u64 end = start + len;

	return (start == b->uaddr && !IS_ALIGNED(start, r->line)) ||
	       (end == b->uaddr + r->length && !IS_ALIGNED(end, r->line));
}

/*
 * A chunk is shorter than a page, so its two pages are one physical page
 * only when the destination maps it twice (a memfd mapped at two
 * addresses): then both pieces may share a cache line, which one mapping
 * must not hold twice while the device writes.
 */
static bool edu_ubuf_aliased(struct edu_ubuf *b, int nents)
{
	return b->device_writes && nents == 2 &&
	       sg_page(&b->sgl[0]) == sg_page(&b->sgl[1]);
}

/*
 * Map batch bytes [pos, pos + len) of @b.  Return 0 when mapped, 1 when
 * the chunk must go through the bounce buffer instead, or a negative errno.
 */
static int edu_ubuf_map(struct edu_ureq *r, struct edu_ubuf *b, u32 pos,
			u32 len)
{
	struct edu_dev *edu = r->edu;
	struct scatterlist *sg;
	int nents, mapped, i;

	if (b->device_writes && edu_ubuf_partial_lines(r, b, pos, len))
		return 1;
	nents = edu_ubuf_chunk_sgl(b, pos, len);
	if (nents < 0)
		return nents;
	if (edu_ubuf_aliased(b, nents))
		return 1;
	if (!edu_ubuf_reachable(r, b, nents)) {
		dev_dbg(&edu->dev, "user memory beyond the DMA mask: bounced\n");
		return 1;
	}
	mapped = dma_map_sg(edu_dma_dev(r), b->sgl, nents, b->dir);
	/* debugfs inject_map_error: fail as an exhausted IOMMU would */
	if (mapped && atomic_dec_if_positive(&edu->inject_map_error) >= 0) {
		dma_unmap_sg(edu_dma_dev(r), b->sgl, nents, b->dir);
		mapped = 0;
	}
	if (!mapped) {
		atomic64_inc(&edu->stats.errors);
		dev_err_ratelimited(&edu->dev, "dma_map_sg failed\n");
		return -EIO;
	}
	b->nents = nents;

	for_each_sg(b->sgl, sg, mapped, i) {
		dma_addr_t a = sg_dma_address(sg);
		u32 n = sg_dma_len(sg);

		if (!n || a > edu->dma_mask || n - 1 > edu->dma_mask - a) {
			dev_dbg(&edu->dev,
				"mapped segment %pad+%u beyond the %u-bit DMA mask: bounced\n",
				&a, n, edu->dma_bits);
			edu_ubuf_unmap(r, b);
			return 1;
		}
	}
	b->sg = b->sgl;
	b->sg_left = mapped;
	b->sg_off = 0;
	return 0;
}

/*
 * Next DMA-contiguous piece of at most @max bytes.  Adjacent segments that
 * continue each other in DMA address space (an IOMMU's single IOVA range,
 * physically contiguous pages) are merged: the device sees one address
 * range per transfer, which costs 100 ms however short it is.
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
 * r->dev_base, under the DMA claim: the source side goes to the device,
 * the destination side comes from it.  r->done counts bytes at their
 * final destination, so the source half of a loopback does not count.
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

	ret = edu_ubuf_map(r, b, pos, len);
	if (ret < 0)
		return ret;
	if (ret) {
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
		if (WARN_ON_ONCE(!edu_ubuf_next(b, len, &addr, &n))) {
			ret = -EIO;
			break;
		}
		ret = edu_dma_xfer(edu, addr, dev_off, n, to_dev, r->mode);
		if (ret)
			break;
		if (count)
			r->done += n;
		dev_off += n;
		len -= n;
	}
	edu_ubuf_unmap(r, b);
	return ret;
}

/* One window's worth: claim, source to the device, device to destination. */
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

/* Bytes the chunk at batch offset @pos may take: what the window holds. */
static u32 edu_ureq_chunk_len(struct edu_ureq *r, u32 pos, u32 avail)
{
	return min_t(u32, avail - pos, EDU_DMA_WINDOW - r->dev_base);
}

/*
 * One batch: pinning happens outside the gate (it may fault and sleep for
 * long); each chunk is mapped, moved and unmapped inside it, under the DMA
 * claim.  The batch stops early at a chunk boundary for remove, suspend
 * and signals; the caller resumes from r->done.
 */
static int edu_ureq_batch(struct edu_ureq *r, u32 blen)
{
	struct edu_dev *edu = r->edu;
	u32 avail = blen, pos = 0, len;
	int ret = 0;

	r->batch_start = r->done;
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
	while (!ret && pos < avail) {
		if (pos && (edu_is_dead(edu) || READ_ONCE(edu->suspended) ||
			    signal_pending(current)))
			break;
		len = edu_ureq_chunk_len(r, pos, avail);
		ret = edu_ureq_chunk(r, pos, len);
		pos += len;
	}
	edu_leave(edu);
	/* all that was pinned has been moved: the rest is not there */
	if (!ret && pos >= avail && avail < blen)
		ret = -EFAULT;
out_unpin:
	edu_ubuf_unpin(&r->dst);
	edu_ubuf_unpin(&r->src);
	return ret;
}

static u32 edu_ureq_batch_len(struct edu_ureq *r)
{
	return min_t(u64, r->length - r->done, EDU_USER_BATCH_BYTES);
}

static int edu_ureq_run(struct edu_ureq *r)
{
	int ret;

	while (r->done < r->length) {
		/*
		 * A signal whose handler runs turns this into -EINTR with
		 * r->done reported.  Otherwise (freezer, stop signals) the call
		 * restarts from scratch, which repeats the same transfers: the
		 * ranges never partly overlap (edu_dma_user_check()), so that
		 * is idempotent.
		 */
		if (signal_pending(current))
			return -ERESTARTNOHAND;
		ret = edu_ureq_batch(r, edu_ureq_batch_len(r));
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

/*
 * A LOOPBACK's source and destination either coincide (an in-place copy,
 * chunk by chunk: idempotent) or do not overlap.  A partial overlap has no
 * single meaning when the stream goes through the device in chunks, so it
 * is refused, like memcpy()'s.
 */
static bool edu_loopback_overlaps(const struct edu_dma_user *req)
{
	if (req->src == req->dst)
		return false;
	return req->src < req->dst + req->length &&
	       req->dst < req->src + req->length &&
	       req->src + req->length > req->src &&
	       req->dst + req->length > req->dst;
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
		if (req->device_offset || edu_loopback_overlaps(req))
			return -EINVAL;
		return 0;
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
	r->mode = edu_resolve_wait(r->edu, EDU_WAIT_DEFAULT);

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
	/*
	 * dma_get_cache_alignment() is what non-coherent platforms need;
	 * dma-debug tracks (and the DMA API rules are about) L1 lines even
	 * where DMA is coherent.
	 */
	r->line = max_t(unsigned int, L1_CACHE_BYTES,
			dma_get_cache_alignment());
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

/*
 * Once the request was read, @done is written back whatever the outcome;
 * a failure to write it back does not hide the call's own error.
 */
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
	if (ret)
		return ret;
	ret = edu_dma_user(edu, &req, &done);
	req.done = done;
	if (copy_to_user(uarg, &req, sizeof(req)) && !ret)
		return -EFAULT;
	return ret;
}
