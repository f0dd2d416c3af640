/*
 * edu-compat32-probe: exercises the edu ioctls from a 32-bit process
 * (compat_ioctl). Built as a static i386 program for x86_64 guests only and
 * run by the Compat32 test (test_compat.cpp).
 *
 *   edu-compat32-probe [/dev/eduN]
 *
 * Exits 0 when every check passed, 1 otherwise (each failure is printed on
 * stderr), 2 when the device cannot be opened.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/edu.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The UAPI promises the same layout as for 64-bit callers. */
_Static_assert(sizeof(void*) == 4, "build as a 32-bit program");
_Static_assert(sizeof(struct edu_identify) == 64, "edu_identify");
_Static_assert(sizeof(struct edu_liveness) == 16, "edu_liveness");
_Static_assert(sizeof(struct edu_factorial) == 24, "edu_factorial");
_Static_assert(sizeof(struct edu_raise_irq) == 24, "edu_raise_irq");
_Static_assert(sizeof(struct edu_dma_staging) == 48, "edu_dma_staging");
_Static_assert(sizeof(struct edu_dma_user) == 64, "edu_dma_user");
_Static_assert(sizeof(struct edu_completion) == 32, "edu_completion");
_Static_assert(sizeof(struct edu_reg) == 32, "edu_reg");
_Static_assert(sizeof(struct edu_stats) == 80, "edu_stats");
_Static_assert(offsetof(struct edu_identify, reserved) == 32, "edu_identify.reserved");
_Static_assert(offsetof(struct edu_raise_irq, irq_count) == 8, "edu_raise_irq.irq_count");
_Static_assert(offsetof(struct edu_dma_staging, staging_offset) == 8, "staging_offset");
_Static_assert(offsetof(struct edu_dma_user, src) == 8, "edu_dma_user.src");
_Static_assert(offsetof(struct edu_dma_user, done) == 40, "edu_dma_user.done");
_Static_assert(offsetof(struct edu_completion, result) == 8, "edu_completion.result");
_Static_assert(offsetof(struct edu_reg, value) == 16, "edu_reg.value");

static int failures;
static int checks;

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    checks++;                                                           \
    if (!(cond)) {                                                      \
      failures++;                                                       \
      fprintf(stderr, "compat32: FAIL line %d: %s: ", __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                     \
      fputc('\n', stderr);                                              \
    }                                                                   \
  } while (0)

static uint64_t ptr(const void* p) {
  return (uint64_t)(uintptr_t)p;
}

static void fill(uint8_t* p, size_t n, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;

  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (uint8_t)x;
  }
}

static int xioctl(int fd, unsigned long cmd, void* arg) {
  return ioctl(fd, cmd, arg) == 0 ? 0 : -errno;
}

static void check_identify(int fd) {
  struct edu_identify id;
  int r;

  memset(&id, 0xAA, sizeof(id));
  r = xioctl(fd, EDU_IOC_IDENTIFY, &id);
  CHECK(r == 0, "IDENTIFY: %s", strerror(-r));
  CHECK(id.id_register == 0x010000edU, "id_register 0x%08x", id.id_register);
  CHECK(id.major == (id.id_register >> 24), "major %u", id.major);
  CHECK(id.dma_window == 4095, "dma_window %u", id.dma_window);
  CHECK(id.staging_size >= 4096, "staging_size %u", id.staging_size);
  for (int i = 0; i < 4; i++)
    CHECK(id.reserved[i] == 0, "reserved[%d] = 0x%llx", i, (unsigned long long)id.reserved[i]);
}

static void check_liveness(int fd) {
  const uint32_t values[] = {0, 1, 0xdeadbeef, 0xffffffff};

  for (unsigned i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    struct edu_liveness lv = {.value = values[i]};
    int r = xioctl(fd, EDU_IOC_LIVENESS, &lv);

    CHECK(r == 0, "LIVENESS: %s", strerror(-r));
    CHECK(lv.inverted == ~values[i], "LIVENESS(0x%x) = 0x%x", values[i], lv.inverted);
  }
  struct edu_liveness bad = {.value = 1, .reserved = 1};
  CHECK(xioctl(fd, EDU_IOC_LIVENESS, &bad) == -EINVAL, "LIVENESS reserved != 0 not rejected");
}

static void check_factorial(int fd) {
  struct edu_factorial f = {.input = 10, .flags = EDU_WAIT_IRQ};
  struct edu_completion c;
  int r;

  r = xioctl(fd, EDU_IOC_FACTORIAL, &f);
  CHECK(r == 0 && f.result == 3628800U, "FACTORIAL(10) r=%d result=%u", r, f.result);
  f = (struct edu_factorial){.input = 12, .flags = EDU_WAIT_POLL, .timeout_ms = 60000};
  r = xioctl(fd, EDU_IOC_FACTORIAL, &f);
  CHECK(r == 0 && f.result == 479001600U, "FACTORIAL(12) r=%d result=%u", r, f.result);
  f = (struct edu_factorial){.input = 3, .reserved = 1};
  CHECK(xioctl(fd, EDU_IOC_FACTORIAL, &f) == -EINVAL, "FACTORIAL reserved != 0 not rejected");

  f = (struct edu_factorial){.input = 9, .flags = EDU_OP_ASYNC};
  r = xioctl(fd, EDU_IOC_FACTORIAL, &f);
  CHECK(r == 0, "async FACTORIAL: %s", strerror(-r));
  memset(&c, 0xAA, sizeof(c));
  r = xioctl(fd, EDU_IOC_COMPLETE, &c);
  CHECK(r == 0, "COMPLETE: %s", strerror(-r));
  CHECK(c.op == EDU_COMPLETION_FACTORIAL && c.status == 0 && c.result == 362880U &&
            c.reserved[0] == 0 && c.reserved[1] == 0,
        "COMPLETE op=%u status=%d result=%llu", c.op, c.status, (unsigned long long)c.result);
}

static void check_staging(int fd, uint32_t staging_size) {
  uint8_t* m = mmap(NULL, staging_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  uint8_t want[3000];
  int r;

  CHECK(m != MAP_FAILED, "mmap staging: %s", strerror(errno));
  if (m == MAP_FAILED) return;
  fill(m + 8, sizeof(want), 1);
  memcpy(want, m + 8, sizeof(want));
  struct edu_dma_staging s = {.direction = EDU_DMA_TO_DEVICE,
                              .staging_offset = 8,
                              .device_offset = 1000,
                              .length = sizeof(want)};
  r = xioctl(fd, EDU_IOC_DMA_STAGING, &s);
  CHECK(r == 0, "DMA_STAGING to device: %s", strerror(-r));
  memset(m, 0, staging_size);
  s.direction = EDU_DMA_FROM_DEVICE;
  r = xioctl(fd, EDU_IOC_DMA_STAGING, &s);
  CHECK(r == 0, "DMA_STAGING from device: %s", strerror(-r));
  CHECK(memcmp(m + 8, want, sizeof(want)) == 0, "staging data differs");
  s.reserved[1] = 1;
  CHECK(xioctl(fd, EDU_IOC_DMA_STAGING, &s) == -EINVAL, "DMA_STAGING reserved != 0 not rejected");
  munmap(m, staging_size);
}

static void check_user(int fd) {
  static uint8_t src[9000], dst[9000];
  struct edu_dma_user u;
  int r;

  fill(src, sizeof(src), 2);
  u = (struct edu_dma_user){
      .direction = EDU_DMA_TO_DEVICE, .src = ptr(src + 3), .length = 2000, .device_offset = 100};
  r = xioctl(fd, EDU_IOC_DMA_USER, &u);
  CHECK(r == 0 && u.done == 2000, "DMA_USER to device r=%d done=%llu", r,
        (unsigned long long)u.done);
  memset(dst, 0, sizeof(dst));
  u = (struct edu_dma_user){
      .direction = EDU_DMA_FROM_DEVICE, .dst = ptr(dst + 5), .length = 2000, .device_offset = 100};
  r = xioctl(fd, EDU_IOC_DMA_USER, &u);
  CHECK(r == 0 && u.done == 2000, "DMA_USER from device r=%d done=%llu", r,
        (unsigned long long)u.done);
  CHECK(memcmp(src + 3, dst + 5, 2000) == 0, "DMA_USER data differs");

  u = (struct edu_dma_user){
      .direction = EDU_DMA_FROM_DEVICE, .dst = ptr(dst), .length = 100, .device_offset = 4000};
  r = xioctl(fd, EDU_IOC_DMA_USER, &u);
  CHECK(r == 0 && u.done == 95, "DMA_USER short count r=%d done=%llu", r,
        (unsigned long long)u.done);

  memset(dst, 0, sizeof(dst));
  u = (struct edu_dma_user){
      .direction = EDU_DMA_LOOPBACK, .src = ptr(src + 1), .dst = ptr(dst + 2), .length = 5000};
  r = xioctl(fd, EDU_IOC_DMA_USER, &u);
  CHECK(r == 0 && u.done == 5000, "DMA_USER loopback r=%d done=%llu", r,
        (unsigned long long)u.done);
  CHECK(memcmp(src + 1, dst + 2, 5000) == 0, "loopback data differs");

  /* A 64-bit pointer a 32-bit process cannot own. */
  u = (struct edu_dma_user){
      .direction = EDU_DMA_TO_DEVICE, .src = ptr(src) | 0xffff000000000000ULL, .length = 16};
  CHECK(xioctl(fd, EDU_IOC_DMA_USER, &u) == -EFAULT, "DMA_USER from a 64-bit address not -EFAULT");
  u = (struct edu_dma_user){.direction = EDU_DMA_TO_DEVICE, .src = 0, .length = 16};
  CHECK(xioctl(fd, EDU_IOC_DMA_USER, &u) == -EFAULT, "DMA_USER from NULL not -EFAULT");
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "/dev/edu0";
  struct edu_stats before, after;
  struct edu_identify id;
  int fd, r;

  fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "compat32: open %s: %s\n", path, strerror(errno));
    return 2;
  }
  memset(&before, 0xAA, sizeof(before));
  r = xioctl(fd, EDU_IOC_STATS, &before);
  CHECK(r == 0, "STATS: %s", strerror(-r));
  for (int i = 0; i < 4; i++)
    CHECK(before.reserved[i] == 0, "stats reserved[%d]", i);

  check_identify(fd);
  check_liveness(fd);
  check_factorial(fd);
  memset(&id, 0, sizeof(id));
  xioctl(fd, EDU_IOC_IDENTIFY, &id);
  check_staging(fd, id.staging_size);
  check_user(fd);

  r = xioctl(fd, EDU_IOC_STATS, &after);
  CHECK(r == 0, "STATS: %s", strerror(-r));
  CHECK(after.factorial_ops >= before.factorial_ops + 3, "factorial_ops %llu -> %llu",
        (unsigned long long)before.factorial_ops, (unsigned long long)after.factorial_ops);
  /* 2 staging + 3 user + 2 loopback chunks x 2 transfers */
  CHECK(after.dma_ops >= before.dma_ops + 9, "dma_ops %llu -> %llu",
        (unsigned long long)before.dma_ops, (unsigned long long)after.dma_ops);
  CHECK(after.dma_bytes >= before.dma_bytes + 2 * 3000 + 2 * 2000 + 95 + 2 * 5000,
        "dma_bytes %llu -> %llu", (unsigned long long)before.dma_bytes,
        (unsigned long long)after.dma_bytes);

  /* Wrong size is still -ENOTTY through the compat entry. */
  CHECK(xioctl(fd, _IOC(_IOC_READ, EDU_IOC_MAGIC, 0, 60), &id) == -ENOTTY,
        "wrong-size IDENTIFY not -ENOTTY");

  close(fd);
  printf("compat32: %d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
