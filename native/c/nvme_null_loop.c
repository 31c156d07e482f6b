/*
 * nvme_null_loop.c: the C reference for Ferrum's NVMe per-I/O benchmark.
 *
 * The same loop as the Java benchmark NvmeQueueBench (bench/src/main/java/dev/ferrum/bench), step for step:
 *
 *   driver submit   free-slot check, slot from a free stack and its command ID (slot | generation), PRP setup for a 4 KiB Read (8 x 512-byte blocks),
 *                   command kept in the slot, 64-byte SQE written with eight 64-bit stores (dword pairs packed,
 *                   as Sqe.write), SQ tail advanced, SQ tail doorbell written with release ordering;
 *   device step     the null device (twin of dev.ferrum.bench.internal.NullDevice): acquire-read of the SQ tail
 *                   doorbell and validation, acquire-read of the CQ head doorbell, for each new SQE: read CDW0
 *                   for the CID, write the CQE (DW0-DW1, then DW2-DW3 = SQ head | SQ ID << 16 | CID << 32 |
 *                   phase << 48 in one 64-bit release store), advance, flip its phase at the wrap;
 *   driver reap     one 64-bit acquire load of the CQE's DW2 and DW3 (as Cqe.dw23Acquire), phase check,
 *                   validation (CID outstanding, SQ head and SQ ID in range), head/phase advance, DW0 read,
 *                   completion buffered (context, tag, decoded status), slot freed; CQ head doorbell written
 *                   (release); then the callback runs through a function pointer.
 *
 * Like the raw Java variant (dev.ferrum.bench.internal.RawQueue) it has no memory-safety checks and no buffer
 * pin/unpin. The compiler may inline everything into the loop, as the JIT does.
 *
 * Timing: CLOCK_MONOTONIC around each run of N I/Os, after warm-up runs. Output: one JSON object with the
 * per-run ns/op values (the report computes the mean and its 99.9% confidence interval as JMH does).
 *
 * Usage: nvme_null_loop [runs [ios_per_run]]     Build: gcc -O2 -o build/nvme_null_loop nvme_null_loop.c
 * Diagnostic build: -DMIRROR_VOLATILE_DONE adds the Java driver's per-I/O volatile store of Request.done (a
 * sequentially consistent store, i.e. a full fence), to measure what that store costs.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../include/nvme.h"

#define ENTRIES     256
#define QID         1
#define PAGE        4096UL
#define BLOCK_SIZE  512
#define BLOCKS      8
#define SLOT_FREE   0
#define SLOT_IN_FLIGHT 1
#define STATUS_PHASE 1

_Static_assert(offsetof(struct nvme_sqe, prp1) == 24, "SQE layout");
_Static_assert(offsetof(struct nvme_sqe, cdw10) == 40, "SQE layout");
_Static_assert(offsetof(struct nvme_cqe, cid) == 12, "CQE layout");
_Static_assert(offsetof(struct nvme_cqe, sq_head) == 8, "CQE layout");

typedef void (*io_cb)(void *ctx, uint64_t tag, int status);

struct slot {
    int cid;
    int generation;
    int command_id; /* on the wire: cid | generation << slot_bits, as the Java Queue */
    int state;
    int opcode;
    uint32_t nsid;
    uint64_t prp1, prp2;
    uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
    uint64_t deadline;
    int retries;
    int done;
    io_cb cb;
    void *cb_ctx;
    uint64_t tag;
};

struct done {
    io_cb cb;
    void *cb_ctx;
    uint64_t tag;
    int status;
};

struct queue {
    int qid, entries;
    uint8_t *sq, *cq, *prp_pages;
    volatile uint32_t *sq_doorbell, *cq_doorbell;
    struct slot slots[ENTRIES - 1];
    int slot_bits, slot_mask, generation_mask;
    int free_cids[ENTRIES - 1];
    int free_count;
    int sq_tail, cq_head, phase;
    int doorbell_pending;
    struct done done[ENTRIES - 1];
    int done_count;
};

struct null_device {
    uint8_t *sq, *cq;
    volatile uint32_t *sq_tail_doorbell, *cq_head_doorbell;
    int entries, qid;
    int sq_head, cq_tail, phase;
    uint64_t completed;
};

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void fail(const char *what) {
    fprintf(stderr, "nvme_null_loop: %s\n", what);
    exit(1);
}

/* ---------------------------------------------------------------- driver ---- */

static void queue_init(struct queue *q, uint8_t *sq, uint8_t *cq, uint8_t *prp, volatile uint32_t *sqdb,
                       volatile uint32_t *cqdb) {
    memset(q, 0, sizeof *q);
    q->qid = QID;
    q->entries = ENTRIES;
    q->sq = sq;
    q->cq = cq;
    q->prp_pages = prp;
    q->sq_doorbell = sqdb;
    q->cq_doorbell = cqdb;
    q->phase = 1;
    q->slot_bits = 32 - __builtin_clz((unsigned) (ENTRIES - 2));
    if (q->slot_bits < 1)
        q->slot_bits = 1;
    q->slot_mask = (1 << q->slot_bits) - 1;
    q->generation_mask = (1 << (16 - q->slot_bits)) - 1;
    for (int i = 0; i < ENTRIES - 1; i++) {
        q->slots[i].cid = i;
        q->slots[i].state = SLOT_FREE;
    }
    for (int i = ENTRIES - 2; i >= 0; i--)
        q->free_cids[q->free_count++] = i;
}

static uint64_t pair(uint32_t low, uint32_t high) { return (uint64_t) low | (uint64_t) high << 32; }

static void submit(struct queue *q, struct slot *r) {
    uint8_t *e = q->sq + (size_t) q->sq_tail * 64;
    put64(e, pair((uint32_t) (r->opcode & 0xff) | (uint32_t) r->command_id << 16, r->nsid));
    put64(e + 8, 0);
    put64(e + 16, 0);
    put64(e + 24, r->prp1);
    put64(e + 32, r->prp2);
    put64(e + 40, pair(r->cdw10, r->cdw11));
    put64(e + 48, pair(r->cdw12, r->cdw13));
    put64(e + 56, pair(r->cdw14, r->cdw15));
    if (++q->sq_tail == q->entries)
        q->sq_tail = 0;
    q->doorbell_pending = 1;
}

static void ring_doorbell(struct queue *q) {
    if (q->doorbell_pending) {
        q->doorbell_pending = 0;
        __atomic_store_n(q->sq_doorbell, (uint32_t) q->sq_tail, __ATOMIC_RELEASE);
    }
}

static void io_read(struct queue *q, uint64_t lba, int blocks, int block_size, uint64_t buffer, io_cb cb,
                    void *cb_ctx, uint64_t tag) {
    if (q->free_count == 0)
        fail("queue full");
    struct slot *r = &q->slots[q->free_cids[--q->free_count]];
    r->generation = (r->generation + 1) & q->generation_mask;
    r->command_id = r->cid | r->generation << q->slot_bits;
    r->state = SLOT_IN_FLIGHT;
#ifdef MIRROR_VOLATILE_DONE
    /* Diagnostic: the Java Queue.allocate's volatile store of Request.done (a full fence on x86-64). */
    __atomic_store_n(&r->done, 0, __ATOMIC_SEQ_CST);
#else
    r->done = 0;
#endif
    uint64_t len = (uint64_t) blocks * block_size;
    uint64_t prp1 = buffer, prp2 = 0;
    uint64_t first = PAGE - (buffer & (PAGE - 1));
    if (len > first) {
        uint64_t next = buffer + first;
        uint64_t rest = len - first;
        if (rest <= PAGE) {
            prp2 = next;
        } else {
            uint64_t list = (uint64_t) r->cid * PAGE;
            uint64_t pages = (rest + PAGE - 1) / PAGE;
            for (uint64_t i = 0; i < pages; i++)
                put64(q->prp_pages + list + i * 8, next + i * PAGE);
            prp2 = (uint64_t) (uintptr_t) q->prp_pages + list;
        }
    }
    r->opcode = NVME_CMD_READ;
    r->nsid = 1;
    r->prp1 = prp1;
    r->prp2 = prp2;
    r->cdw10 = (uint32_t) lba;
    r->cdw11 = (uint32_t) (lba >> 32);
    r->cdw12 = (uint32_t) (blocks - 1);
    r->cdw13 = r->cdw14 = r->cdw15 = 0;
    r->cb = cb;
    r->cb_ctx = cb_ctx;
    r->tag = tag;
    r->retries = 0;
    r->deadline = 0;
    submit(q, r);
    ring_doorbell(q);
}

static void completed(struct queue *q, struct slot *r, uint32_t status_field) {
    struct done *d = &q->done[q->done_count++];
    d->cb = r->cb;
    d->cb_ctx = r->cb_ctx;
    d->tag = r->tag;
    int sc = (status_field >> 1) & 0xff;
    int sct = (status_field >> 9) & 0x7;
    d->status = sc == 0 && sct == 0 ? 0 : (int) (status_field & 1u << 15) | sct << 8 | sc;
    if (r->state == SLOT_FREE)
        fail("command freed twice");
    r->state = SLOT_FREE;
    r->cb = NULL;
    q->free_cids[q->free_count++] = r->cid;
}

static int reap(struct queue *q, int max) {
    int n = 0, head = q->cq_head, ph = q->phase;
    while (n < max) {
        uint8_t *base = q->cq + (size_t) head * 16;
        uint64_t dw23 = __atomic_load_n((uint64_t *) (base + 8), __ATOMIC_ACQUIRE); /* DW2 and DW3 at once */
        uint32_t status = (uint32_t) (dw23 >> 48);
        if ((int) (status & STATUS_PHASE) != ph)
            break;
        uint32_t command_id = (uint32_t) (dw23 >> 32) & 0xffff;
        uint32_t cid = command_id & (uint32_t) q->slot_mask;
        uint32_t sq_head = (uint32_t) dw23 & 0xffff, sq_id = (uint32_t) (dw23 >> 16) & 0xffff;
        if (cid >= ENTRIES - 1 || q->slots[cid].state == SLOT_FREE
                || (uint32_t) q->slots[cid].command_id != command_id)
            fail("completion for a command that is not outstanding");
        if (sq_head >= (uint32_t) q->entries || sq_id != (uint32_t) q->qid)
            fail("completion with SQ head or SQ ID out of range");
        if (++head == q->entries) {
            head = 0;
            ph ^= 1;
        }
        struct slot *r = &q->slots[cid];
        uint32_t dw0 = get32(base);
        (void) dw0;
        q->cq_head = head;
        q->phase = ph;
        n++;
        completed(q, r, status & ~(uint32_t) STATUS_PHASE);
    }
    if (n > 0)
        __atomic_store_n(q->cq_doorbell, (uint32_t) q->cq_head, __ATOMIC_RELEASE);
    return n;
}

static int process_completions(struct queue *q, int max) {
    int limit = max < (ENTRIES - 1) - q->done_count ? max : (ENTRIES - 1) - q->done_count;
    if (limit > 0)
        reap(q, limit);
    int n = q->done_count;
    for (int i = 0; i < n; i++) {
        struct done *d = &q->done[i];
        if (d->cb)
            d->cb(d->cb_ctx, d->tag, d->status);
    }
    q->done_count = 0;
    return n;
}

/* ------------------------------------------------------------ null device ---- */

static int device_step(struct null_device *d) {
    uint32_t tail = __atomic_load_n(d->sq_tail_doorbell, __ATOMIC_ACQUIRE);
    if ((int) tail == d->sq_head)
        return 0;
    if (tail >= (uint32_t) d->entries)
        fail("SQ tail doorbell outside the queue");
    int cq_head = (int) __atomic_load_n(d->cq_head_doorbell, __ATOMIC_ACQUIRE);
    int n = 0;
    int next = d->cq_tail + 1 == d->entries ? 0 : d->cq_tail + 1;
    while (d->sq_head != (int) tail && next != cq_head) {
        uint8_t *sqe = d->sq + (size_t) d->sq_head * 64;
        uint32_t cid = get32(sqe) >> 16;
        if (++d->sq_head == d->entries)
            d->sq_head = 0;
        uint8_t *cqe = d->cq + (size_t) d->cq_tail * 16;
        put64(cqe, 0); /* DW0, DW1 */
        /* DW2 (SQ head, SQ ID) and DW3 (CID, phase) in one release store, last: one burst, as a device writes. */
        __atomic_store_n((uint64_t *) (cqe + 8), pair((uint32_t) d->sq_head | (uint32_t) d->qid << 16,
                                                      cid | (uint32_t) d->phase << 16), __ATOMIC_RELEASE);
        d->cq_tail = next;
        if (next == 0)
            d->phase ^= 1;
        next = d->cq_tail + 1 == d->entries ? 0 : d->cq_tail + 1;
        n++;
    }
    d->completed += (uint64_t) n;
    return n;
}

/* ------------------------------------------------------------- benchmark ---- */

struct counter {
    uint64_t completed;
    int last_status;
};

static void count_completion(void *ctx, uint64_t tag, int status) {
    (void) tag;
    struct counter *c = ctx;
    c->completed++;
    c->last_status = status;
}

static void *page_alloc(size_t size) {
    void *p = aligned_alloc(PAGE, (size + PAGE - 1) / PAGE * PAGE);
    if (!p)
        fail("out of memory");
    memset(p, 0, (size + PAGE - 1) / PAGE * PAGE);
    return p;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 10;
    long ios = argc > 2 ? atol(argv[2]) : 5000000L;
    if (runs < 1 || ios < 1)
        fail("usage: nvme_null_loop [runs >= 1 [ios_per_run >= 1]]");

    uint8_t *bar = page_alloc(0x2000);
    uint8_t *sq = page_alloc(ENTRIES * 64);
    uint8_t *cq = page_alloc(ENTRIES * 16);
    uint8_t *prp = page_alloc((ENTRIES - 1) * PAGE);
    uint8_t *data = page_alloc(PAGE);
    volatile uint32_t *sqdb = (volatile uint32_t *) (bar + NVME_REG_DBS + (2 * QID) * 4);
    volatile uint32_t *cqdb = (volatile uint32_t *) (bar + NVME_REG_DBS + (2 * QID + 1) * 4);

    static struct queue q;
    queue_init(&q, sq, cq, prp, sqdb, cqdb);
    struct null_device dev = {
        .sq = sq, .cq = cq, .sq_tail_doorbell = sqdb, .cq_head_doorbell = cqdb,
        .entries = ENTRIES, .qid = QID, .sq_head = 0, .cq_tail = 0, .phase = 1, .completed = 0
    };
    struct counter counter = {0, 0};
    uint64_t lba = 0;
    uint64_t buffer = (uint64_t) (uintptr_t) data;

    int warmup = runs < 3 ? 1 : 3;
    double *per_op = calloc((size_t) runs, sizeof(double));
    if (!per_op)
        fail("out of memory");
    for (int run = -warmup; run < runs; run++) {
        double t0 = now_ns();
        for (long i = 0; i < ios; i++) {
            uint64_t l = lba;
            lba = (l + BLOCKS) & 0xfffff;
            io_read(&q, l, BLOCKS, BLOCK_SIZE, buffer, count_completion, &counter, l);
            device_step(&dev);
            if (process_completions(&q, 1) != 1)
                fail("I/O did not complete");
        }
        double t1 = now_ns();
        if (run >= 0)
            per_op[run] = (t1 - t0) / (double) ios;
    }
    if (counter.completed != (uint64_t) (runs + warmup) * (uint64_t) ios || counter.last_status != 0
            || dev.completed != counter.completed)
        fail("completion count mismatch");

    printf("{\"benchmark\": \"nvme_null_loop\", \"unit\": \"ns/op\", \"ios_per_run\": %ld, \"warmup_runs\": %d, "
           "\"compiler\": \"gcc %d.%d.%d\", \"runs_ns_per_op\": [", ios, warmup, __GNUC__, __GNUC_MINOR__,
           __GNUC_PATCHLEVEL__);
    for (int i = 0; i < runs; i++)
        printf("%s%.3f", i ? ", " : "", per_op[i]);
    printf("]}\n");
    free(per_op);
    return 0;
}
