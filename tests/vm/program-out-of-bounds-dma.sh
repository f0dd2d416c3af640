#!/bin/sh
# Runs in the guest: programs edu's DMA engine directly through /dev/mem,
# bypassing the driver, with a transfer that reaches byte 4095 of the device
# buffer. QEMU 7.2 aborts on it ("hardware error"), which the runner must
# report as a QEMU crash (exit 123), never as a pass.
rmmod edu 2>/dev/null
bar=$(cut -d' ' -f1 /sys/bus/pci/devices/0000:01:00.0/resource | head -1)
devmem $((bar + 0x80)) 64 0x40000 # source: the device buffer
devmem $((bar + 0x88)) 64 0x100000 # destination: guest RAM at 1 MiB
devmem $((bar + 0x90)) 64 4096     # count: the whole buffer, past the window
devmem $((bar + 0x98)) 32 3        # start, device -> RAM
sleep 5
echo "QEMU did not abort"
