/*
 * labdma: fault injection (docs/labdma/datasheet.md 9), armed at run time
 * through QOM properties (QMP qom-set) and read back from "faults-armed".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "labdma.h"
#include "trace.h"

/* ---- fault injection (datasheet 9) ------------------------------------- */

/*
 * Parse "N[:N[:N]]" into @vals; @need values are required, the rest keep
 * their defaults.  Returns false with @errp set on anything else.
 */
static bool labdma_parse_fault(const char *name, const char *value,
                               uint64_t *vals, unsigned need, unsigned max,
                               Error **errp)
{
    const char *p = value;
    unsigned n;

    for (n = 0; n < max && *p; n++) {
        if (qemu_strtou64(p, &p, 0, &vals[n]) < 0 ||
            (*p && *p != ':')) {
            break;
        }
        if (*p == ':') {
            p++;
        }
    }
    if (n < need || *p) {
        error_setg(errp, "labdma: %s: cannot parse '%s'", name, value);
        return false;
    }
    return true;
}

/* Parse @value for fault @name; its first number names the channel. */
static LabDmaChannel *labdma_fault_target(LabDmaState *s, const char *name,
                                          const char *value, uint64_t *vals,
                                          unsigned need, unsigned max,
                                          Error **errp)
{
    if (!labdma_parse_fault(name, value, vals, need, max, errp)) {
        return NULL;
    }
    if (vals[0] >= s->channels) {
        error_setg(errp, "labdma: %s: no channel %" PRIu64 " (the device has"
                   " %u)", name, vals[0], s->channels);
        return NULL;
    }
    return &s->ch[vals[0]];
}

static void labdma_set_fault_fail(Object *obj, const char *value,
                                  Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[3] = { 0, 0, LABDMA_ERR_INJECTED };
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-fail", value, v, 1, 3, errp);
    if (!ch) {
        return;
    }
    if (v[1] > INT32_MAX || v[2] < 1 || v[2] > LABDMA_ERR_MAX) {
        error_setg(errp, "labdma: fault-fail: index must be below 2^31 and"
                   " the error code 1..%u", LABDMA_ERR_MAX);
        return;
    }
    ch->fail_after = v[1];
    ch->fail_code = v[2];
}

static void labdma_set_fault_hang(Object *obj, const char *value,
                                  Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[1];
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-hang", value, v, 1, 1, errp);
    if (!ch) {
        return;
    }
    ch->hang = true;
    ch->hang_seen = false;
}

static void labdma_set_fault_drop_irq(Object *obj, const char *value,
                                      Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[2] = { 0, 1 };
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-drop-irq", value, v, 1, 2, errp);
    if (!ch) {
        return;
    }
    if (v[1] > UINT32_MAX) {
        error_setg(errp, "labdma: fault-drop-irq: count above 2^32-1");
        return;
    }
    ch->drop_irqs = v[1];
}

static void labdma_set_fault_corrupt(Object *obj, const char *value,
                                     Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[1];
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-corrupt", value, v, 1, 1, errp);
    if (!ch) {
        return;
    }
    ch->corrupt = true;
}

static void labdma_set_fault_delay(Object *obj, const char *value,
                                   Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[2];
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-delay", value, v, 2, 2, errp);
    if (!ch) {
        return;
    }
    if (v[1] > 60 * NANOSECONDS_PER_SECOND) {
        error_setg(errp, "labdma: fault-delay: at most 60 s");
        return;
    }
    ch->delay_ns = v[1];
}

static void labdma_set_fault_spurious_irq(Object *obj, const char *value,
                                          Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    PCIDevice *pdev = PCI_DEVICE(s);
    uint64_t v[1] = { 0 };

    if (!labdma_parse_fault("fault-spurious-irq", value, v, 0, 1, errp)) {
        return;
    }
    if (msix_enabled(pdev)) {
        if (v[0] >= labdma_msix_vectors(s)) {
            error_setg(errp, "labdma: fault-spurious-irq: no MSI-X vector %"
                       PRIu64, v[0]);
            return;
        }
        msix_notify(pdev, v[0]);
    } else if (msi_enabled(pdev)) {
        msi_notify(pdev, 0);
    } else {
        s->spurious_intx = true;
        labdma_update_irq(s, 0);
    }
    s->faults_injected++;
    trace_labdma_fault("spurious-irq", v[0]);
}

/* Reading a fault property shows what is armed, channel by channel. */
static char *labdma_get_faults(Object *obj, Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    GString *str = g_string_new("");
    unsigned c;

    for (c = 0; c < s->channels; c++) {
        LabDmaChannel *ch = &s->ch[c];

        if (ch->fail_after >= 0) {
            g_string_append_printf(str, "fail=%u:%d:%u ", c, ch->fail_after,
                                   ch->fail_code);
        }
        if (ch->hang) {
            g_string_append_printf(str, "hang=%u ", c);
        }
        if (ch->drop_irqs) {
            g_string_append_printf(str, "drop-irq=%u:%u ", c, ch->drop_irqs);
        }
        if (ch->corrupt) {
            g_string_append_printf(str, "corrupt=%u ", c);
        }
        if (ch->delay_ns) {
            g_string_append_printf(str, "delay=%u:%" PRIu64 " ", c,
                                   ch->delay_ns);
        }
    }
    if (str->len) {
        g_string_truncate(str, str->len - 1);
    }
    return g_string_free(str, false);
}

static void labdma_get_faults_injected(Object *obj, Visitor *v,
                                       const char *name, void *opaque,
                                       Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);

    visit_type_uint64(v, name, &s->faults_injected, errp);
}

static void labdma_add_fault_property(ObjectClass *oc, const char *name,
                                      void (*set)(Object *, const char *,
                                                  Error **),
                                      const char *desc)
{
    object_class_property_add_str(oc, name, labdma_get_faults, set);
    object_class_property_set_description(oc, name, desc);
}

void labdma_fault_class_init(ObjectClass *oc)
{
    labdma_add_fault_property(oc, "fault-fail", labdma_set_fault_fail,
        "CH:N[:CODE]: channel CH's N-th next descriptor halts it with CODE");
    labdma_add_fault_property(oc, "fault-hang", labdma_set_fault_hang,
        "CH: channel CH stops making progress until ABORT or a reset");
    labdma_add_fault_property(oc, "fault-drop-irq", labdma_set_fault_drop_irq,
        "CH[:N]: channel CH's next N completion interrupts are lost");
    labdma_add_fault_property(oc, "fault-corrupt", labdma_set_fault_corrupt,
        "CH: channel CH's next result is corrupted (first byte inverted)");
    labdma_add_fault_property(oc, "fault-delay", labdma_set_fault_delay,
        "CH:NS: channel CH's next descriptor completes NS later");
    labdma_add_fault_property(oc, "fault-spurious-irq",
                              labdma_set_fault_spurious_irq,
        "[VECTOR]: signal an interrupt no source asked for");
    object_class_property_add_str(oc, "faults-armed", labdma_get_faults,
                                  NULL);
    object_class_property_set_description(oc, "faults-armed",
        "the faults waiting to happen, e.g. \"fail=1:0:10 hang=2\"");
    object_class_property_add(oc, "faults-injected", "uint64",
                              labdma_get_faults_injected, NULL, NULL, NULL);
    object_class_property_set_description(oc, "faults-injected",
        "faults injected since the device was created");
}
