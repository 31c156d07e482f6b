package dev.ferrum.agx.internal;

import dev.ferrum.agx.internal.fw.CommandLayout;
import dev.ferrum.driver.sync.Guard;
import dev.ferrum.driver.sync.LockClass;
import dev.ferrum.driver.sync.SpinLock;
import dev.ferrum.memory.DmaBuffer;
import dev.ferrum.memory.DmaPool;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Firmware command objects carved out of larger DMA buffers (Asahi {@code alloc.rs}, whose heap allocators place
 * firmware objects in GPU-mapped memory; here a free list of fixed-size {@link CommandLayout command} slots). Grows
 * by one chunk when empty, so allocation never blocks and a DMA mapping is made only once per chunk.
 *
 * <p>Invariants: a {@link Cmd} is handed out at most once until freed; chunks live until {@link #close()}; a freed
 * command is zeroed before it is handed out again (its result block reads {@code STATUS_PENDING}).
 *
 * <p>Thread-safe: the free list is a {@link SpinLock} (a push or pop).
 */
public final class CommandHeap implements AutoCloseable {
    /** One command object: its CPU view and device address. */
    public static final class Cmd {
        private final MemorySegment view;
        private final long deviceAddress;
        private boolean inUse;

        private Cmd(MemorySegment view, long deviceAddress) {
            this.view = view;
            this.deviceAddress = deviceAddress;
        }

        /** {@return the object's CPU view, {@link CommandLayout#SIZE} bytes} */
        public MemorySegment view() {
            return view;
        }

        /** {@return the device address the firmware reads it at} */
        public long deviceAddress() {
            return deviceAddress;
        }
    }

    private static final class State {
        final ArrayDeque<Cmd> free = new ArrayDeque<>();
        final List<DmaBuffer> chunks = new ArrayList<>();
        boolean closed;
    }

    private final DmaPool pool;
    private final int perChunk;
    private final SpinLock<State> lock = new SpinLock<>(new State(), LockClass.named("agx.heap"));

    private record Chunk(DmaBuffer buffer, List<Cmd> cmds) {}

    /** Creates the heap with one chunk of {@code perChunk} commands. */
    public CommandHeap(DmaPool pool, int perChunk) {
        if (perChunk < 1) {
            throw new IllegalArgumentException("command heap chunk of " + perChunk + " objects");
        }
        this.pool = pool;
        this.perChunk = perChunk;
        Chunk first = newChunk();
        lock.run(s -> {
            s.chunks.add(first.buffer());
            s.free.addAll(first.cmds());
        });
    }

    private Chunk newChunk() {
        DmaBuffer chunk = pool.allocate(perChunk * CommandLayout.SIZE);
        MemorySegment v = chunk.segment();
        v.fill((byte) 0);
        List<Cmd> cmds = new ArrayList<>(perChunk);
        for (int i = 0; i < perChunk; i++) {
            long off = i * CommandLayout.SIZE;
            cmds.add(new Cmd(v.asSlice(off, CommandLayout.SIZE), chunk.deviceAddress() + off));
        }
        return new Chunk(chunk, cmds);
    }

    /** {@return a zeroed command object} */
    public Cmd allocate() {
        Cmd c;
        try (Guard<State> g = lock.lock()) {
            State s = g.get();
            if (s.closed) {
                throw new IllegalStateException("the command heap is closed");
            }
            c = s.free.pollFirst();
            if (c != null) {
                c.inUse = true;
            }
        }
        if (c == null) {
            c = grow();
        }
        c.view.fill((byte) 0);
        return c;
    }

    /** Adds a chunk (outside the spin lock: mapping memory takes system calls) and takes one object from it. */
    private Cmd grow() {
        Chunk chunk = newChunk();
        Cmd mine = chunk.cmds().removeLast();
        mine.inUse = true;
        boolean closed = lock.with(s -> {
            if (s.closed) {
                return true;
            }
            s.chunks.add(chunk.buffer());
            s.free.addAll(chunk.cmds());
            return false;
        });
        if (closed) {
            chunk.buffer().close();
            throw new IllegalStateException("the command heap is closed");
        }
        return mine;
    }

    /** Returns {@code c} to the heap. */
    public void free(Cmd c) {
        try (Guard<State> g = lock.lock()) {
            if (!c.inUse) {
                throw new IllegalStateException("command object at 0x" + Long.toHexString(c.deviceAddress)
                        + " freed twice");
            }
            c.inUse = false;
            State s = g.get();
            if (!s.closed) {
                s.free.addFirst(c);
            }
        }
    }

    /** {@return the number of DMA chunks backing the heap} */
    public int chunks() {
        return lock.with(s -> s.chunks.size());
    }

    /** Frees every chunk. The firmware must be stopped. */
    @Override
    public void close() {
        List<DmaBuffer> chunks = lock.with(s -> {
            s.closed = true;
            s.free.clear();
            List<DmaBuffer> c = List.copyOf(s.chunks);
            s.chunks.clear();
            return c;
        });
        for (DmaBuffer b : chunks) {
            b.close();
        }
    }
}
